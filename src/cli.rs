//! Command-line interface: one binary, one subcommand per process or tool.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::duration::parse_duration;

/// rolecall: identity lifecycle management of SaaS apps on Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "rolecall", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controllers (one active replica at a time, by Lease).
    Operator(OperatorArgs),
    /// Run the SCIM 2.0 sidecar that identity providers push users and groups to.
    Scim(ScimArgs),
    /// Print every CustomResourceDefinition as YAML, or write one file per kind.
    Crd(CrdArgs),
}

/// How log lines are written.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct OperatorArgs {
    /// Watch only this namespace; all namespaces when absent.
    #[arg(long, env = "ROLECALL_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the /metrics, /healthz and /readyz server.
    #[arg(long, env = "ROLECALL_METRICS_ADDR", default_value = "127.0.0.1:8080")]
    pub metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "ROLECALL_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Name of the Lease that elects the active replica.
    #[arg(long, env = "ROLECALL_LEASE_NAME", default_value = "rolecall-operator")]
    pub lease_name: String,
    /// Namespace of the Lease; defaults to the watched namespace, else the
    /// Pod's namespace (POD_NAMESPACE), else `default`.
    #[arg(long, env = "ROLECALL_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the Lease; defaults to POD_NAME, else the host name and process id.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// How long a Lease stays valid without renewal before a standby takes it.
    #[arg(long, value_parser = duration_arg, default_value = "15s")]
    pub lease_duration: Duration,
    /// How often the leader renews, and a standby retries.
    #[arg(long, value_parser = duration_arg, default_value = "2s")]
    pub lease_retry: Duration,
    /// How often every object is checked again even when nothing changed.
    #[arg(long, value_parser = duration_arg, default_value = "5m")]
    pub resync: Duration,
}

#[derive(Args, Debug)]
pub struct ScimArgs {}

#[derive(Args, Debug)]
pub struct CrdArgs {
    /// Write one `<plural>.yaml` file per kind into this directory instead of printing.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}
