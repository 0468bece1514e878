//! rolecall: identity lifecycle management of SaaS apps, the Kubernetes way.

use clap::Parser;

use rolecall::cli::{Cli, Command};
use rolecall::{crdgen, operator, telemetry};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd(args) => crdgen::run(&args),
        Command::Operator(args) => {
            telemetry::init(args.log_format);
            run_async(operator::run(args))
        }
        Command::Scim(_) => {
            eprintln!(
                "rolecall scim: the SCIM 2.0 sidecar is not built yet (tracked in issue #4); \
                 this command does nothing and exits non-zero so no deployment mistakes it for a working endpoint"
            );
            std::process::ExitCode::from(2)
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
