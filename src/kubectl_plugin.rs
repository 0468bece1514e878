//! `kubectl rolecall ...`: the same binary, installed under the name
//! `kubectl-rolecall` (a symlink or a copy on PATH; `make plugin` builds one),
//! is a kubectl plugin. kubectl finds it on PATH and runs it with the words
//! after `kubectl rolecall`, so a user types `kubectl rolecall status crm -n
//! acme`. As a plugin it offers only the commands a person runs from a
//! terminal; the servers stay `rolecall operator` and `rolecall scim`.

use std::ffi::OsStr;
use std::path::Path;

use clap::{Parser, Subcommand};

use crate::cli::{ClaimArgs, Command, StatusArgs, TokenCommand, UiArgs};

/// The file name kubectl looks for on PATH for `kubectl rolecall`.
pub const PLUGIN_FILE_NAME: &str = "kubectl-rolecall";

/// Whether the process was started as the kubectl plugin (argv[0]'s file name).
pub fn invoked_as_plugin(argv0: Option<&OsStr>) -> bool {
    argv0.and_then(|a| Path::new(a).file_name()).is_some_and(|name| name == PLUGIN_FILE_NAME)
}

/// rolecall as a kubectl plugin: a hub's user tables, claims and SCIM tokens.
#[derive(Parser, Debug)]
#[command(name = "kubectl rolecall", bin_name = "kubectl rolecall", version)]
pub struct PluginCli {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Print a hub's user tables (Onboarded, Unmatched, Guest, Exempted) and its latest actions.
    Status(StatusArgs),
    /// Claim the access a collection or a claim-required grant offers, so the invitation is sent now.
    Claim(ClaimArgs),
    /// Manage the SCIM bearer tokens of an IdPBinding.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Serve a read-only web page of each hub's user tables on localhost, read with your own kubeconfig.
    Ui(UiArgs),
}

impl From<PluginCommand> for Command {
    fn from(command: PluginCommand) -> Command {
        match command {
            PluginCommand::Status(args) => Command::Status(args),
            PluginCommand::Claim(args) => Command::Claim(args),
            PluginCommand::Token(args) => Command::Token(args),
            PluginCommand::Ui(args) => Command::Ui(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    #[test]
    fn the_plugin_is_recognised_by_its_file_name_only() {
        assert!(invoked_as_plugin(Some(OsStr::new("/usr/local/bin/kubectl-rolecall"))));
        assert!(invoked_as_plugin(Some(OsStr::new("kubectl-rolecall"))));
        assert!(!invoked_as_plugin(Some(OsStr::new("/usr/bin/rolecall"))));
        assert!(!invoked_as_plugin(Some(OsStr::new("/opt/kubectl-rolecall/rolecall"))));
        assert!(!invoked_as_plugin(None));
    }

    #[test]
    fn the_plugin_takes_the_same_subcommands_and_flags() {
        let cli = PluginCli::try_parse_from(["kubectl-rolecall", "status", "crm", "-n", "acme", "-o", "json"]);
        match cli.map(|c| Command::from(c.command)) {
            Ok(Command::Status(args)) => {
                assert_eq!(args.hub, "crm");
                assert_eq!(args.namespace.as_deref(), Some("acme"));
                assert_eq!(args.output, OutputFormat::Json);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PluginCli::try_parse_from(["kubectl-rolecall", "token", "rotate", "okta"]).map(|c| Command::from(c.command)),
            Ok(Command::Token(TokenCommand::Rotate(_)))
        ));
        match PluginCli::try_parse_from(["kubectl-rolecall", "ui", "--port", "8123", "-n", "acme"]).map(|c| Command::from(c.command)) {
            Ok(Command::Ui(args)) => assert_eq!((args.port, args.namespace.as_deref()), (8123, Some("acme"))),
            other => panic!("{other:?}"),
        }
        // The servers are not plugin commands.
        assert!(PluginCli::try_parse_from(["kubectl-rolecall", "operator"]).is_err());
    }
}
