//! Command-line grammar (clap derive). Subcommands may be abbreviated to any
//! unambiguous prefix, as with cobra's prefix matching.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Root command.
#[derive(Debug, Parser)]
#[command(
    name = "egctl",
    about = "A command line admin tool for Easegress.",
    version,
    infer_subcommands = true,
    disable_help_subcommand = false
)]
pub struct Cli {
    /// The address of the Easegress endpoint
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// Whether to forcibly use HTTPS, if not, client will auto upgrade to HTTPS on-demand
    #[arg(long, global = true)]
    pub force_tls: bool,
    /// Whether to verify the server's certificate chain and host name
    #[arg(long, global = true)]
    pub insecure_skip_verify: bool,
    /// Output format(default, json, yaml); for convert, the output yaml file path
    #[arg(short = 'o', long, global = true)]
    pub output: Option<String>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a resource from a file or from stdin.
    Create(CreateArgs),
    /// Delete a resource or group of resources
    Delete(DeleteArgs),
    /// Display one or many resources
    Get(GetArgs),
    /// Show details of a specific resource or group of resources
    Describe(DescribeArgs),
    /// Apply a configuration to a resource by filename or stdin
    Apply(FileArgs),
    /// Show what apply -f would change, as a unified diff (exit 1 when something differs)
    Diff(DiffArgs),
    /// Describe the fields of a kind: egctl explain HTTPServer.rules.paths
    Explain {
        /// KIND or KIND.field.subfield (object or filter kind).
        target: String,
    },
    /// Names for shell completion (resource names, or the objects of KIND)
    #[command(name = "__names", hide = true)]
    Names {
        /// The resource whose objects to list.
        kind: Option<String>,
    },
    /// Edit a resource
    Edit(EditArgs),
    /// View Easegress APIs
    Apis,
    /// Generates completion script for the specified shell (bash or zsh)
    Completion {
        /// Shell to generate the script for.
        shell: Shell,
    },
    /// Probe Easegress health
    Health,
    /// Start and stop CPU and memory profilers
    #[command(subcommand, infer_subcommands = true)]
    Profile(ProfileCmd),
    /// View all API resources
    ApiResources,
    /// Manage WebAssembly code and data
    #[command(subcommand, infer_subcommands = true)]
    Wasm(WasmCmd),
    /// View egctl config
    #[command(subcommand, infer_subcommands = true)]
    Config(ConfigCmd),
    /// Print the logs of Easegress server
    Logs(LogsArgs),
    /// Print metrics of easegress and built-in etcd.
    Metrics,
    /// Convert other kinds of config to Easegress yaml file
    #[command(subcommand, infer_subcommands = true)]
    Convert(ConvertCmd),
}

/// `convert` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConvertCmd {
    /// Convert nginx.conf to easegress yaml file (-o names the output yaml file)
    #[command(
        after_help = "Example:\n  egctl convert nginx -f <nginx.conf> -o <output.yaml> --resource-prefix <prefix>"
    )]
    Nginx(ConvertNginxArgs),
}

/// `convert nginx`.
#[derive(Debug, Args)]
pub struct ConvertNginxArgs {
    /// nginx.conf file path
    #[arg(short = 'f', long = "file", default_value = "")]
    pub file: String,
    /// prefix of output yaml resources
    #[arg(long, default_value = "nginx")]
    pub resource_prefix: String,
}

/// Shells supported by `completion`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
}

/// `-f FILE|-` of apply.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// A yaml file specifying the object.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Only validate on the server: nothing is stored
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

/// `diff -f FILE|-`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// A yaml file with the objects to compare with the stored ones.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
}

/// `create`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, infer_subcommands = true)]
pub struct CreateArgs {
    /// A yaml file specifying the object.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// Only validate on the server: nothing is stored
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Generated resources.
    #[command(subcommand)]
    pub sub: Option<CreateSub>,
}

/// `create` subcommands.
#[derive(Debug, Subcommand)]
pub enum CreateSub {
    /// Create a HTTPServer and corresponding Pipelines with a specific name
    Httpproxy(HttpProxyArgs),
}

/// `create httpproxy`.
#[derive(Debug, Args)]
pub struct HttpProxyArgs {
    /// Name of the HTTPServer (pipelines are NAME-0, NAME-1, …).
    pub name: Vec<String>,
    /// Port of HTTPServer
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub port: i64,
    /// Rule in format host/path=endpoint1,endpoint2. Paths ending with '*' are considered as PathPrefix.
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    /// Enable TLS
    #[arg(long)]
    pub tls: bool,
    /// Enable auto cert
    #[arg(long)]
    pub auto_cert: bool,
    /// CA cert file
    #[arg(long, default_value = "")]
    pub ca_cert_file: String,
    /// Cert file
    #[arg(long = "cert-file")]
    pub cert_files: Vec<String>,
    /// Key file
    #[arg(long = "key-file")]
    pub key_files: Vec<String>,
    /// Auto cert domain name
    #[arg(long, default_value = "")]
    pub auto_cert_domain_name: String,
    /// Auto cert DNS provider
    #[arg(long = "dns-provider")]
    pub dns_provider: Vec<String>,
    /// Auto cert email
    #[arg(long, default_value = "")]
    pub auto_cert_email: String,
}

/// `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// RESOURCE [NAME...]
    pub args: Vec<String>,
    /// delete all resources in given kind
    #[arg(long)]
    pub all: bool,
}

/// Namespace selection of get/describe.
#[derive(Debug, Args, Clone, Default)]
pub struct NamespaceArgs {
    /// namespace of httpservers and pipelines created by controllers (their own namespace)
    #[arg(long, default_value = "")]
    pub namespace: String,
    /// get all resources in all namespaces
    #[arg(long)]
    pub all_namespaces: bool,
}

/// `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// RESOURCE [NAME] (customdata: customdata KIND [ID])
    pub args: Vec<String>,
    /// Namespace flags.
    #[command(flatten)]
    pub ns: NamespaceArgs,
}

/// `describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// RESOURCE [NAME] (customdata: customdata KIND [ID])
    pub args: Vec<String>,
    /// Print verbose information
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Namespace flags.
    #[command(flatten)]
    pub ns: NamespaceArgs,
}

/// `edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// RESOURCE NAME (customdata: customdata KIND [ID])
    pub args: Vec<String>,
}

/// `profile` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Show memory and CPU profile file paths
    Info,
    /// Prepare measuring CPU or memory
    #[command(subcommand, infer_subcommands = true)]
    Start(ProfileStart),
    /// Stop profile.
    Stop,
}

/// `profile start` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileStart {
    /// Prepare measuring CPU
    Cpu {
        /// Profile file path.
        path: Vec<String>,
    },
    /// Prepare measuring memory
    Memory {
        /// Profile file path.
        path: Vec<String>,
    },
}

/// `wasm` subcommands.
#[derive(Debug, Subcommand)]
pub enum WasmCmd {
    /// Notify Easegress to reload WebAssembly code
    ReloadCode,
    /// Delete all shared data of a WasmHost filter
    DeleteData {
        /// PIPELINE FILTER
        args: Vec<String>,
    },
    /// Apply shared data to a WasmHost filter
    ApplyData {
        /// PIPELINE FILTER
        args: Vec<String>,
        /// A yaml file specifying the data.
        #[arg(short = 'f', long = "file")]
        file: Option<String>,
    },
    /// List shared data of a WasmHost filter
    ListData {
        /// PIPELINE FILTER
        args: Vec<String>,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Show current used egctl config
    CurrentContext,
    /// Display merged egctl config settings
    View,
    /// Display one or many contexts
    GetContexts,
    /// Sets the current-context in egctl config file
    UseContext {
        /// Context name.
        name: String,
    },
}

/// `logs`.
#[derive(Debug, Args)]
#[command(infer_subcommands = true)]
pub struct LogsArgs {
    /// Lines of recent log file to display. Defaults to 500, use -1 to show all lines
    #[arg(long, default_value_t = 500, allow_negative_numbers = true)]
    pub tail: i64,
    /// Specify if the logs should be streamed.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Log level commands.
    #[command(subcommand)]
    pub sub: Option<LogsSub>,
}

/// `logs` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogsSub {
    /// Set Easegress log level
    SetLevel {
        /// info or debug
        level: String,
    },
    /// Get Easegress log level
    GetLevel,
}
