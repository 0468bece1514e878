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
    /// Manage the SCIM bearer tokens of an IdPBinding.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a hub's user tables (Onboarded, Unmatched, Guest, Exempted) and its latest actions.
    Status(StatusArgs),
    /// Claim the access a collection or a claim-required grant offers, so the invitation is sent now.
    Claim(ClaimArgs),
    /// Print the API reference (Markdown) generated from the CRDs: docs/api-reference.md.
    ApiDocs,
    /// Tools for connectors of your own (docs/connector-protocol.md).
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Serve a read-only web page of each hub's user tables on localhost, read with your own kubeconfig (like `kubectl proxy`); --in-cluster serves it behind a Service to viewers signing in with their own token.
    Ui(UiArgs),
}

#[derive(Args, Debug, Clone)]
pub struct UiArgs {
    /// Port to serve on, on 127.0.0.1 only (without --in-cluster).
    #[arg(long, default_value_t = 8001)]
    pub port: u16,
    /// The namespace shown first, and the only one offered when you may not list hubs cluster-wide; defaults to the kubeconfig's namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Serve in the cluster behind a Service (the chart's ui.enabled): listen on --listen, and read the API as each viewer, who must present their own Kubernetes bearer token (Authorization header, or the login form's cookie). The process's own credentials only feed the AppAccount cache.
    #[arg(long)]
    pub in_cluster: bool,
    /// Address to serve on with --in-cluster.
    #[arg(long, env = "ROLECALL_UI_LISTEN", default_value = "0.0.0.0:8080", requires = "in_cluster")]
    pub listen: SocketAddr,
    /// Always mark the login cookie Secure (the UI serves plain HTTP; without this the cookie is Secure only when the request says X-Forwarded-Proto: https, as an Ingress terminating TLS does).
    #[arg(long, requires = "in_cluster")]
    pub cookie_secure: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConnectorCommand {
    /// Check a webhook connector against the protocol: one line per check, then `N passed, M failed`.
    Test(ConnectorTestArgs),
}

#[derive(Args, Debug)]
pub struct ConnectorTestArgs {
    /// The connector's base URL (the hub's spec.connector.url; paths start with /v1 below it).
    pub url: String,
    /// The shared signing secret (the value in the hub's credentials Secret).
    #[arg(long, env = "ROLECALL_CONNECTOR_SECRET", hide_env_values = true)]
    pub secret: String,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The BusinessHub to report.
    pub hub: String,
    /// Namespace of the hub; defaults to the kubeconfig's namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// How many of the latest actions to list.
    #[arg(long, default_value_t = 10)]
    pub actions: usize,
    /// Output format: human tables, or one JSON or YAML document for scripts.
    #[arg(long, short = 'o', value_enum, default_value = "table")]
    pub output: OutputFormat,
}

/// How a report is printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable tables.
    Table,
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
}

#[derive(Args, Debug)]
pub struct ClaimArgs {
    /// The BusinessHub whose access is claimed.
    pub hub: String,
    /// The User claiming it.
    #[arg(long)]
    pub user: String,
    /// Namespace of the hub and the user; defaults to the kubeconfig's namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Add a new token to the binding's Secret and print it; older rotated tokens beyond --keep are removed.
    Rotate(TokenRotateArgs),
}

#[derive(Args, Debug)]
pub struct TokenRotateArgs {
    /// The IdPBinding whose tokens to rotate.
    pub binding: String,
    /// Namespace of the binding; defaults to the kubeconfig's namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// How many rotated tokens stay valid, the new one included (2: the previous one keeps working until the next rotation).
    #[arg(long, default_value_t = 2)]
    pub keep: usize,
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

#[derive(Args, Debug, Clone)]
pub struct ScimArgs {
    /// Address to serve SCIM on.
    #[arg(long, env = "ROLECALL_SCIM_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain to serve HTTPS with (mount it from a Secret). Without it the sidecar serves plain HTTP.
    #[arg(long, env = "ROLECALL_SCIM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching --tls-cert.
    #[arg(long, env = "ROLECALL_SCIM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The base URL identity providers reach the sidecar at, ending in /scim/v2 (shown in IdPBinding status).
    #[arg(long, env = "ROLECALL_SCIM_EXTERNAL_URL")]
    pub external_url: Option<String>,
    /// Serve only the bindings of this namespace; all namespaces when absent.
    #[arg(long, env = "ROLECALL_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Steady requests per second allowed per token.
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
    /// Requests a token may send in a burst above the steady rate.
    #[arg(long, default_value_t = 400)]
    pub rate_burst: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How often token Secrets are re-read (a removed token stops working within this time).
    #[arg(long, value_parser = duration_arg, default_value = "10s")]
    pub token_refresh: Duration,
    /// How often IdPBinding status (counts, last request) is written when it changed.
    #[arg(long, value_parser = duration_arg, default_value = "10s")]
    pub status_interval: Duration,
    /// Address of the sidecar's /metrics server (requests by status code); none when absent.
    #[arg(long, env = "ROLECALL_SCIM_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

#[derive(Args, Debug)]
pub struct CrdArgs {
    /// Write one `<plural>.yaml` file per kind into this directory instead of printing.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}
