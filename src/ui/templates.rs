//! The page templates (minijinja, loaded at start from files compiled into the
//! binary). Templates named `*.html` escape every value they print, so an
//! email or a note from outside cannot become markup.

use minijinja::Environment;

pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("layout.html", include_str!("templates/layout.html"))?;
    env.add_template("hubs.html", include_str!("templates/hubs.html"))?;
    env.add_template("hub.html", include_str!("templates/hub.html"))?;
    env.add_template("user.html", include_str!("templates/user.html"))?;
    env.add_template("error.html", include_str!("templates/error.html"))?;
    env.add_template("login.html", include_str!("templates/login.html"))?;
    Ok(env)
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    #[test]
    fn every_value_is_escaped() {
        let env = super::environment().expect("templates parse");
        let html = env
            .get_template("error.html")
            .and_then(|t| t.render(context! { title => "<b>t</b>", message => "<script>alert(1)</script>", status => 403, ns => "\"x", namespaces => vec!["\"><img src=x>"] }))
            .expect("renders");
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x>") && !html.contains("<b>t</b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;") || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }
}
