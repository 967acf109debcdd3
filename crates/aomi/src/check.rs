//! `aomi config check`: the configuration file and the environment, checked before anything runs.
//!
//! Every problem names its key (a key of the file, or the environment variable or flag that set
//! it), says what is wrong and how to fix it. Errors stop `aomi serve` before it opens anything;
//! warnings are logged and the server starts. The checks reuse the same parsers the server uses
//! (model specs, store URLs, sign-in settings, networks), so the two cannot disagree.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use aomi_chain::NetworkRegistry;
use aomi_chain::network::{DEVNET, NetworksFile, rpc_env_var};
use aomi_llm::{ConfigError, ModelConfig};
use aomi_server::auth::{Auth, AuthConfig, AuthConfigError, AuthMode};
use aomi_store::Location;
use serde::Serialize;

use crate::config::FileConfig;
use crate::serve::ServeArgs;

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The configuration file cannot be read or is not TOML.
    Unreadable,
    /// A key the file format does not have (a typo, or a key in the wrong table).
    UnknownKey,
    /// A value of the wrong type or outside what the key accepts.
    BadValue,
    /// A URL that does not parse or has the wrong scheme or shape.
    BadUrl,
    /// A network with no RPC URL to reach it.
    NetworkWithoutRpc,
    /// A sign-in setting that would expose the server where it listens.
    UnsafeAuth,
    /// A secret the configuration needs is not set.
    MissingSecret,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Unreadable => "unreadable",
            Kind::UnknownKey => "unknown-key",
            Kind::BadValue => "bad-value",
            Kind::BadUrl => "bad-url",
            Kind::NetworkWithoutRpc => "network-without-rpc",
            Kind::UnsafeAuth => "unsafe-auth",
            Kind::MissingSecret => "missing-secret",
        }
    }
}

/// Whether a problem stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `aomi serve` refuses to start.
    Error,
    /// Logged; the server starts.
    Warning,
}

/// One problem of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: Kind,
    /// The key: `limits.ip_rate` in the file, or the variable or flag (`AOMI_AUTH_SECRET`).
    pub key: String,
    /// What is wrong.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

/// Every problem found, in the order checked.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The problems.
    pub problems: Vec<Problem>,
}

impl Report {
    fn add(&mut self, severity: Severity, kind: Kind, key: &str, what: impl Into<String>, fix: impl Into<String>) {
        self.problems.push(Problem { severity, kind, key: key.to_owned(), what: what.into(), fix: fix.into() });
    }

    fn error(&mut self, kind: Kind, key: &str, what: impl Into<String>, fix: impl Into<String>) {
        self.add(Severity::Error, kind, key, what, fix);
    }

    fn warn(&mut self, kind: Kind, key: &str, what: impl Into<String>, fix: impl Into<String>) {
        self.add(Severity::Warning, kind, key, what, fix);
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.severity == Severity::Warning)
    }

    /// True when the server must not start.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// The report as text: one paragraph per problem.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for p in &self.problems {
            let severity = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            text.push_str(&format!("{severity}[{}] {}: {}\n  fix: {}\n", p.kind.label(), p.key, p.what, p.fix));
        }
        let errors = self.errors().count();
        let warnings = self.problems.len() - errors;
        text.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
        text
    }
}

/// A setting's value and the key it came from: the flag's environment variable when given there
/// (clap folds the flag and its variable into one value), else the file's key.
struct Setting<T> {
    value: T,
    key: String,
}

fn setting<T: Clone>(arg: &Option<T>, env_key: &str, file: &Option<T>, file_key: &str) -> Option<Setting<T>> {
    match (arg, file) {
        (Some(value), _) => Some(Setting { value: value.clone(), key: env_key.to_owned() }),
        (None, Some(value)) => Some(Setting { value: value.clone(), key: file_key.to_owned() }),
        (None, None) => None,
    }
}

/// Checks the configuration `aomi serve` would run with: its flags (and their environment
/// variables, which clap has folded in), the file they name, and the other variables it reads
/// through `env`.
pub fn check(args: &ServeArgs, env: &dyn Fn(&str) -> Option<String>) -> Report {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let mut report = Report::default();
    let file = match &args.config {
        Some(path) => read_file(path, &mut report),
        None => FileConfig::default(),
    };

    // Where it listens.
    let bind = setting(&args.bind, "AOMI_BIND", &file.bind, "bind")
        .unwrap_or(Setting { value: "127.0.0.1:8080".into(), key: "bind".into() });
    let bound: Option<SocketAddr> = match bind.value.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            report.error(
                Kind::BadValue,
                &bind.key,
                format!("\"{}\" is not an address and port", bind.value),
                "write it as 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080 (every interface, behind sign-in)",
            );
            None
        }
    };

    check_models(args, &file, &env, &mut report);

    if let Some(titles) = setting(&args.titles, "AOMI_TITLES", &file.titles, "titles")
        && !matches!(titles.value.as_str(), "model" | "first-message")
    {
        report.error(
            Kind::BadValue,
            &titles.key,
            format!("titles must be \"model\" or \"first-message\", not \"{}\"", titles.value),
            "use \"model\" (a short model call names the chat) or \"first-message\"",
        );
    }

    // The store.
    let mut shared_store = false;
    if let Some(url) = setting(&args.database_url, "AOMI_DATABASE_URL", &file.database_url, "database_url")
        .filter(|url| !url.value.is_empty())
    {
        match Location::from_url(&url.value) {
            Ok(location) => shared_store = matches!(location, Location::Postgres(_)),
            Err(error) => report.error(
                Kind::BadUrl,
                &url.key,
                error.to_string(),
                "use postgres://user:password@host:5432/database (instances may share it) or sqlite://path/aomi.db",
            ),
        }
    }
    let positive = [
        (
            setting(
                &args.db_max_connections.map(u64::from),
                "AOMI_DB_MAX_CONNECTIONS",
                &file.db_max_connections.map(u64::from),
                "db_max_connections",
            ),
            "the database pool needs at least one connection",
        ),
        (setting(&None, "", &file.turn_lease_secs, "turn_lease_secs"), "a turn lease of 0 seconds ends every turn"),
        (
            setting(
                &args.shutdown_grace_secs,
                "AOMI_SHUTDOWN_GRACE_SECS",
                &file.shutdown_grace_secs,
                "shutdown_grace_secs",
            ),
            "a shutdown with no grace would cut running turns off before they store their end",
        ),
    ];
    for (value, what) in positive {
        if let Some(value) = value
            && value.value == 0
        {
            report.error(
                Kind::BadValue,
                &value.key,
                what,
                "set a positive number (the default applies when the key is absent)",
            );
        }
    }

    check_auth(args, &file, &env, bound, shared_store, &mut report);

    // The page's policy.
    let connect_src: Vec<String> = if args.csp_connect_src.iter().any(|s| !s.is_empty()) {
        args.csp_connect_src.clone()
    } else {
        file.csp_connect_src.clone().unwrap_or_default()
    };
    if let Err(error) = aomi_server::headers::SecurityHeaders::new(&connect_src) {
        let key =
            if args.csp_connect_src.iter().any(|s| !s.is_empty()) { "AOMI_CSP_CONNECT_SRC" } else { "csp_connect_src" };
        report.error(
            Kind::BadValue,
            key,
            error.to_string(),
            "list origins such as https://relay.example.org or wss://relay.example.org, without ';' or quotes",
        );
    }

    check_limits(&file, &env, &mut report);
    check_networks(args, &file, &env, &mut report);

    if let Some(fast) =
        setting(&args.intent_fast_path, "AOMI_INTENT_FAST_PATH", &file.intent_fast_path, "intent_fast_path")
        && fast.value
        && !crate::subroutines::intent_has_model(&file, env("AOMI_UTILITY_MODEL").is_some())
    {
        report.warn(
            Kind::BadValue,
            &fast.key,
            "the intent fast path needs a model other than the chat's: it stays off",
            "set AOMI_UTILITY_MODEL (a cheaper or local model reads the intents) or intent_model to a model id, \
             or turn the fast path off",
        );
    }
    if let Some(dir) = setting(&args.web_dir, "AOMI_WEB_DIR", &file.web_dir, "web_dir")
        && !dir.value.join("index.html").is_file()
    {
        report.warn(
            Kind::BadValue,
            &dir.key,
            format!("{} holds no index.html: only the API will be served", dir.value.display()),
            "build the page (`npm run --prefix web build`) and point this at web/dist",
        );
    }
    if let Some(format) = env("AOMI_LOG_FORMAT")
        && !matches!(format.as_str(), "json" | "text")
    {
        report.error(
            Kind::BadValue,
            "AOMI_LOG_FORMAT",
            format!("the log format must be \"json\" or \"text\", not \"{format}\""),
            "use json (one JSON object per line, for a log collector) or text",
        );
    }
    report
}

/// Reads the file: unreadable, not TOML, unknown keys (with the closest known one), then the
/// values' types. Answers the defaults where it could not read it.
fn read_file(path: &Path, report: &mut Report) -> FileConfig {
    let key = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            report.error(
                Kind::Unreadable,
                &key,
                format!("cannot read the configuration file: {error}"),
                "check the path given to --config (AOMI_CONFIG)",
            );
            return FileConfig::default();
        }
    };
    let mut table: toml::Table = match text.parse() {
        Ok(table) => table,
        Err(error) => {
            report.error(
                Kind::Unreadable,
                &key,
                format!("not valid TOML: {}", error.to_string().trim()),
                "fix the syntax at the line shown",
            );
            return FileConfig::default();
        }
    };
    let (top, limits) = known_keys();
    let unknown = |name: &str, known: &[String], prefix: &str, report: &mut Report| {
        let fix = match closest(name, known) {
            Some(near) => format!("did you mean `{prefix}{near}`? (every key is in aomi.example.toml)"),
            None if prefix.is_empty() && limits.iter().any(|k| k == name) => {
                format!("`{name}` belongs in the [limits] table")
            }
            None => "remove it; every key is in aomi.example.toml".to_owned(),
        };
        report.error(Kind::UnknownKey, &format!("{prefix}{name}"), "not a key of the configuration", fix);
    };
    table.retain(|name, _| {
        let known = top.iter().any(|k| k == name);
        if !known {
            unknown(name, &top, "", report);
        }
        known
    });
    if let Some(toml::Value::Table(inner)) = table.get_mut("limits") {
        inner.retain(|name, _| {
            let known = limits.iter().any(|k| k == name);
            if !known {
                unknown(name, &limits, "limits.", report);
            }
            known
        });
    }
    // Each value of the wrong type is reported, then left out so that the next one is found too.
    loop {
        match serde_path_to_error::deserialize::<_, FileConfig>(toml::Value::Table(table.clone())) {
            Ok(file) => return file,
            Err(error) => {
                let key = error.path().to_string();
                let message = error.inner().to_string();
                let what = message.lines().next().unwrap_or_default().to_owned();
                report.error(
                    Kind::BadValue,
                    &key,
                    what,
                    "give the value the type aomi.example.toml shows for this key",
                );
                let removed = match key.split_once('.') {
                    Some((outer, inner)) => match table.get_mut(outer) {
                        Some(toml::Value::Table(nested)) => nested.remove(inner).is_some(),
                        _ => false,
                    },
                    None => table.remove(&key).is_some(),
                };
                if !removed {
                    return FileConfig::default();
                }
            }
        }
    }
}

/// The keys of the file and of its `[limits]` table.
fn known_keys() -> (Vec<String>, Vec<String>) {
    let keys = |value: &serde_json::Value| -> Vec<String> {
        value.as_object().map(|object| object.keys().cloned().collect()).unwrap_or_default()
    };
    let all = serde_json::to_value(FileConfig::default()).unwrap_or_default();
    (keys(&all), keys(&all["limits"]))
}

/// The known key closest to `name`, if one is close enough to be a typo.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|key| (edit_distance(name, key), key))
        .filter(|(distance, key)| *distance <= 2.max(key.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, key)| key.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The model and the utility model: their specs, keys and base URLs.
fn check_models(args: &ServeArgs, file: &FileConfig, env: &dyn Fn(&str) -> Option<String>, report: &mut Report) {
    let model = setting(&args.model, "AOMI_MODEL", &file.model, "model");
    let model_key = model.as_ref().map_or("AOMI_MODEL".to_owned(), |m| m.key.clone());
    let spec = model.map(|m| m.value);
    let result = ModelConfig::from_lookup(|name| if name == "AOMI_MODEL" { spec.clone() } else { env(name) });
    let default = match result {
        Ok(config) => config,
        Err(error) => {
            model_problem(&model_key, error, report);
            return;
        }
    };
    // The models a chat may pick: each must be usable, and together with the default make one
    // set (a default exists, no id twice, ids a request can name).
    let (allowed, problems) = crate::models::allowed_models(file, env);
    let had_problems = !problems.is_empty();
    for problem in problems {
        model_problem(&problem.key, problem.error, report);
    }
    if !had_problems && !allowed.is_empty() {
        let key = allowed.first().map_or("models", |model| model.key.as_str()).to_owned();
        let routes = default
            .map(aomi_llm::LlmClient::new)
            .transpose()
            .map_err(anyhow::Error::from)
            .and_then(|default| crate::models::routes(default, &allowed));
        if let Err(error) = routes {
            report.error(
                Kind::BadValue,
                &key,
                format!("{error:#}"),
                "set a default model (model, AOMI_MODEL) and give each allowed model its own id of letters, \
                 digits, '.', '_', '-' and ':'",
            );
        }
    }
    if let Err(error) = ModelConfig::utility_from_lookup(env) {
        model_problem("AOMI_UTILITY_MODEL", error, report);
    }
    // The subroutines' models: `chat`, `utility`, or a model a chat may pick.
    let ids: Vec<&str> = allowed.iter().map(|model| model.id.as_str()).chain(spec.as_deref()).collect();
    for unknown in crate::subroutines::check(file, &ids) {
        report.error(
            Kind::BadValue,
            unknown.key,
            unknown.to_string(),
            "use \"chat\", \"utility\", or the id of a [[models]] entry (or of AOMI_MODELS)",
        );
    }
}

fn model_problem(key: &str, error: ConfigError, report: &mut Report) {
    let what = error.to_string();
    match error {
        ConfigError::MissingApiKey { var, .. } => report.error(
            Kind::MissingSecret,
            var,
            what,
            format!("set {var} in the environment (keep keys out of the file)"),
        ),
        ConfigError::MissingOpenAiEndpoint { .. } => report.error(
            Kind::MissingSecret,
            "OPENAI_API_KEY",
            what,
            "set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server",
        ),
        ConfigError::InvalidBaseUrl { var, .. } => {
            report.error(Kind::BadUrl, var, what, "use an http:// or https:// URL, such as http://127.0.0.1:11434/v1")
        }
        _ => report.error(Kind::BadValue, key, what, "use anthropic:<model> or openai:<model>"),
    }
}

/// Sign-in: its mode, secret and public address, and whether they suit the bound address.
fn check_auth(
    args: &ServeArgs,
    file: &FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
    bound: Option<SocketAddr>,
    shared_store: bool,
    report: &mut Report,
) {
    let auth = setting(&args.auth, "AOMI_AUTH", &file.auth, "auth");
    let mode = match &auth {
        None => AuthMode::Optional,
        Some(auth) => match auth.value.parse::<AuthMode>() {
            Ok(mode) => mode,
            Err(error) => {
                report.error(Kind::BadValue, &auth.key, error, "use \"optional\" or \"required\"");
                return;
            }
        },
    };
    let auth_key = auth.map_or("auth".to_owned(), |a| a.key);
    let public_url = setting(&args.public_url, "AOMI_PUBLIC_URL", &file.public_url, "public_url")
        .filter(|url| !url.value.is_empty());
    let secret = args.auth_secret.clone().filter(|s| !s.is_empty()).or_else(|| env("AOMI_AUTH_SECRET"));
    let config = AuthConfig {
        mode,
        secret: secret.clone(),
        public_url: public_url.as_ref().map(|u| u.value.clone()),
        secure_cookie: None,
    };
    match Auth::new(config) {
        Ok(_) => {}
        Err(error @ AuthConfigError::ShortSecret(_)) => report.error(
            Kind::BadValue,
            "AOMI_AUTH_SECRET",
            error.to_string(),
            "use at least 32 random bytes: `openssl rand -hex 32`, the same on every instance",
        ),
        Err(error @ AuthConfigError::PublicUrl { .. }) => report.error(
            Kind::BadUrl,
            public_url.as_ref().map_or("public_url", |u| u.key.as_str()),
            error.to_string(),
            "use the origin people open, such as https://aomi.example",
        ),
    }
    let allow = args.allow_unauthenticated || file.allow_unauthenticated.unwrap_or(false);
    if let Some(bind) = bound
        && !bind.ip().is_loopback()
    {
        match mode {
            AuthMode::Optional if !allow => report.error(
                Kind::UnsafeAuth,
                &auth_key,
                format!(
                    "refusing to serve {bind} without sign-in: anyone who reaches it could run turns on your model \
                     and read any wallet's chats by naming it"
                ),
                "set AOMI_AUTH=required (with AOMI_PUBLIC_URL and AOMI_AUTH_SECRET), bind 127.0.0.1, or pass \
                 --allow-unauthenticated (allow_unauthenticated = true) if that is what you want",
            ),
            AuthMode::Optional => report.warn(
                Kind::UnsafeAuth,
                &auth_key,
                format!("serving {bind} WITHOUT sign-in (allow_unauthenticated)"),
                "set AOMI_AUTH=required unless anyone may use this server",
            ),
            AuthMode::Required if public_url.is_none() => report.error(
                Kind::UnsafeAuth,
                "public_url",
                format!(
                    "AOMI_AUTH=required on {bind} needs AOMI_PUBLIC_URL: the address people open \
                     (https://aomi.example), which sign-in messages name and which alone may ask for them"
                ),
                "set AOMI_PUBLIC_URL (public_url) to the origin people open",
            ),
            AuthMode::Required => {}
        }
    }
    if mode == AuthMode::Required && secret.is_none() {
        let fix =
            "set AOMI_AUTH_SECRET to at least 32 random bytes (`openssl rand -hex 32`), the same on every instance";
        if shared_store {
            report.error(
                Kind::MissingSecret,
                "AOMI_AUTH_SECRET",
                "required sign-in on a shared PostgreSQL store needs AOMI_AUTH_SECRET: without it each instance \
                 signs with a key of its own, so the others refuse its sessions, and every restart signs everyone out",
                fix,
            );
        } else {
            report.warn(
                Kind::MissingSecret,
                "AOMI_AUTH_SECRET",
                "AOMI_AUTH_SECRET is not set: sessions end when this process restarts",
                fix,
            );
        }
    }
}

/// `[limits]`: each value (its `AOMI_LIMIT_*` variable wins) a number in range.
fn check_limits(file: &FileConfig, env: &dyn Fn(&str) -> Option<String>, report: &mut Report) {
    let l = &file.limits;
    let values: [(&str, Option<u64>, u64); 19] = [
        ("ip_rate", l.ip_rate.map(u64::from), 0),
        ("ip_burst", l.ip_burst.map(u64::from), 0),
        ("session_rate", l.session_rate.map(u64::from), 0),
        ("session_burst", l.session_burst.map(u64::from), 0),
        ("turns_per_client", l.turns_per_client.map(as_u64), 0),
        ("turns_total", l.turns_total.map(as_u64), 0),
        ("message_bytes", l.message_bytes.map(as_u64), 1),
        ("messages_per_chat", l.messages_per_chat.map(as_u64), 0),
        ("followers_per_chat", l.followers_per_chat.map(as_u64), 0),
        ("history_page", l.history_page.map(as_u64), 0),
        ("write_timeout_secs", l.write_timeout_secs, 0),
        ("history_tokens", l.history_tokens.map(as_u64), 0),
        ("tool_output_bytes", l.tool_output_bytes.map(as_u64), 1024),
        ("old_tool_output_bytes", l.old_tool_output_bytes.map(as_u64), 0),
        ("chain_sessions", l.chain_sessions.map(as_u64), 1),
        ("known_contracts", l.known_contracts.map(as_u64), 1),
        ("signature_bytes", l.signature_bytes.map(as_u64), 1),
        ("signature_depth", l.signature_depth.map(as_u64), 1),
        ("long_permit_days", l.long_permit_days, 1),
    ];
    for (name, from_file, least) in values {
        let var = format!("AOMI_LIMIT_{}", name.to_uppercase());
        let (value, key) = match env(&var) {
            Some(text) => match text.trim().parse::<u64>() {
                Ok(value) => (Some(value), var.clone()),
                Err(_) => {
                    report.error(
                        Kind::BadValue,
                        &var,
                        format!("{var}={text} is not a number"),
                        "use a whole number (0 turns most limits off)",
                    );
                    continue;
                }
            },
            None => (from_file, format!("limits.{name}")),
        };
        if let Some(value) = value
            && value < least
        {
            report.error(
                Kind::BadValue,
                &key,
                format!("{name} is {value}; it must be at least {least}"),
                format!("set it to {least} or more, or remove it for the default"),
            );
        }
    }
    let (proxies, key) = match env("AOMI_TRUSTED_PROXIES") {
        Some(list) => (list.split(',').map(|p| p.trim().to_owned()).collect(), "AOMI_TRUSTED_PROXIES"),
        None => (l.trusted_proxies.clone().unwrap_or_default(), "limits.trusted_proxies"),
    };
    for proxy in proxies {
        if proxy.parse::<IpAddr>().is_err() {
            report.error(
                Kind::BadValue,
                key,
                format!("trusted proxy \"{proxy}\" is not an IP address"),
                "list the reverse proxies' own addresses, such as 127.0.0.1 or 10.0.0.2",
            );
        }
    }
}

fn as_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// The networks file, the `AOMI_RPC_*` variables and the default network.
fn check_networks(args: &ServeArgs, file: &FileConfig, env: &dyn Fn(&str) -> Option<String>, report: &mut Report) {
    let mut registry = NetworkRegistry::builtin();
    if let Some(path) = setting(&args.networks, "AOMI_NETWORKS", &file.networks_file, "networks_file") {
        let key = path.key;
        match std::fs::read_to_string(&path.value) {
            Err(error) => report.error(
                Kind::Unreadable,
                &key,
                format!("cannot read the networks file {}: {error}", path.value.display()),
                "check the path",
            ),
            Ok(text) => match toml::from_str::<NetworksFile>(&text) {
                Err(error) => report.error(
                    Kind::BadValue,
                    &key,
                    format!("the networks file {} is invalid: {}", path.value.display(), error.message()),
                    "each network is a [networks.<name>] table of chain_id, rpc_urls, native_symbol, explorer, ens, testnet",
                ),
                Ok(networks) => {
                    let mut without_rpc = false;
                    for (name, entry) in &networks.networks {
                        let known = registry.by_name(name).is_some();
                        let empty = entry.rpc_urls.as_ref().is_some_and(Vec::is_empty);
                        if empty || (!known && entry.rpc_urls.is_none()) {
                            without_rpc = true;
                            report.error(
                                Kind::NetworkWithoutRpc,
                                &format!("networks.{name}.rpc_urls"),
                                format!("network {name} has no RPC URL: aomi could not reach it"),
                                format!(
                                    "add rpc_urls = [\"https://…\"] to [networks.{name}] in {}",
                                    path.value.display()
                                ),
                            );
                        }
                    }
                    if !without_rpc && let Err(error) = registry.merge_toml(&text) {
                        let message = error.to_string();
                        let kind = if message.contains("URL") { Kind::BadUrl } else { Kind::BadValue };
                        report.error(kind, &key, message, "fix that network's entry in the networks file");
                    }
                }
            },
        }
    }
    // Each variable alone, so that the problem names it.
    let names: Vec<String> = registry.networks().iter().map(|n| n.name.clone()).collect();
    for name in names {
        let var = rpc_env_var(&name);
        let Some(value) = env(&var) else { continue };
        let mut alone = registry.clone();
        if let Err(error) = alone.apply_env(|asked| (asked == var).then(|| value.clone())) {
            let kind =
                if value.split(',').all(|u| u.trim().is_empty()) { Kind::NetworkWithoutRpc } else { Kind::BadUrl };
            report.error(kind, &var, error.to_string(), "give one or more http(s) URLs, separated by commas");
        } else {
            registry = alone;
        }
    }
    let devnet = args.devnet || file.devnet.unwrap_or(false);
    let default = setting(&args.default_network, "AOMI_DEFAULT_NETWORK", &file.default_network, "default_network");
    if let Some(default) = &default
        && let Err(error) = registry.resolve(&default.value)
    {
        report.error(Kind::BadValue, &default.key, error.to_string(), format!("use one of: {}", registry.known()));
    }
    let default_name = default.map_or(if devnet { DEVNET.to_owned() } else { "ethereum".to_owned() }, |d| d.value);
    if default_name == DEVNET && !devnet && env(&rpc_env_var(DEVNET)).is_none() {
        report.warn(
            Kind::NetworkWithoutRpc,
            "default_network",
            "the default network is the devnet, but no devnet is started (--devnet) or named (AOMI_RPC_DEVNET): \
             chats go to whatever answers on its built-in http://127.0.0.1:8545",
            "pass --devnet (devnet = true), or set AOMI_RPC_DEVNET to your devnet's URL",
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The example file documents every key (commented out, with its default), in its table.
    #[test]
    fn the_example_file_names_every_key() {
        let example = include_str!("../../../aomi.example.toml");
        let (top, limits) = known_keys();
        let (head, tail) = example.split_once("\n[limits]\n").unwrap();
        for key in top.iter().filter(|k| *k != "limits") {
            assert!(head.contains(&format!("\n# {key} = ")), "aomi.example.toml does not document `{key}`");
        }
        for key in &limits {
            assert!(tail.contains(&format!("\n# {key} = ")), "aomi.example.toml does not document `limits.{key}`");
        }
    }

    #[test]
    fn a_typo_gets_the_closest_key_and_a_stranger_none() {
        let known = ["bind".to_owned(), "database_url".to_owned(), "turn_lease_secs".to_owned()];
        assert_eq!(closest("bnid", &known), Some("bind"));
        assert_eq!(closest("databse_url", &known), Some("database_url"));
        assert_eq!(closest("colour", &known), None);
    }
}
