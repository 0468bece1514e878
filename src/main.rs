//! rolecall: identity lifecycle management of SaaS apps, the Kubernetes way.

use clap::Parser;

use rolecall::cli::{Cli, Command};
use rolecall::{apidoc, cli, crdgen, kubectl_plugin, operator, report, scim, telemetry, token, ui};

fn main() -> std::process::ExitCode {
    // Installed as `kubectl-rolecall`, the binary is `kubectl rolecall`: the same commands a person runs.
    let command = if kubectl_plugin::invoked_as_plugin(std::env::args_os().next().as_deref()) {
        kubectl_plugin::PluginCli::parse().command.into()
    } else {
        Cli::parse().command
    };
    match command {
        Command::Crd(args) => crdgen::run(&args),
        Command::ApiDocs => apidoc::run(),
        Command::Operator(args) => {
            rolecall::heap_trim::limit_arenas();
            telemetry::init(args.log_format);
            run_async(operator::run(args))
        }
        Command::Token(cli::TokenCommand::Rotate(args)) => run_async(token::rotate(args)),
        Command::Status(args) => run_async(report::status(args)),
        Command::Claim(args) => run_async(report::claim(args)),
        Command::Connector(cli::ConnectorCommand::Test(args)) => run_async(rolecall::connector::conformance::run(&args.url, &args.secret)),
        Command::Ui(args) => {
            telemetry::init(cli::LogFormat::Text);
            run_async(ui::run(args))
        }
        Command::Scim(args) => {
            rolecall::heap_trim::limit_arenas();
            telemetry::init(cli::LogFormat::Text);
            run_async(scim::run(args))
        }
    }
}

fn run_async<E: std::fmt::Display>(fut: impl std::future::Future<Output = Result<(), E>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            eprintln!("rolecall: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
