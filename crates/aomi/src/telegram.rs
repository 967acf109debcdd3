//! `aomi telegram`: the server of `aomi serve` with the Telegram bot beside it, in one process
//! (the page the bot links to, for binding a wallet and reviewing a transaction, is this
//! server's). The bot is `aomi_server::telegram`; this file reads its configuration.

use std::time::Duration;

use anyhow::Context;
use aomi_server::telegram::TelegramConfig;
use clap::Args;

use crate::config::FileConfig;
use crate::serve::ServeArgs;

/// Flags of `aomi telegram`: the bot's, then every flag of `aomi serve`.
#[derive(Debug, Args)]
pub struct TelegramArgs {
    #[command(flatten)]
    pub(crate) bot: BotFlags,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

/// The bot's own flags.
#[derive(Debug, Args)]
pub struct BotFlags {
    /// The bot's token from BotFather (`TELEGRAM_BOT_TOKEN` is read too).
    #[arg(long, env = "AOMI_TELEGRAM_TOKEN", hide_env_values = true)]
    pub(crate) telegram_token: Option<String>,
    /// The Bot API's base URL [default: https://api.telegram.org] (`TELEGRAM_API_URL` is read
    /// too; a stub's for tests).
    #[arg(long, env = "AOMI_TELEGRAM_API_URL")]
    pub(crate) telegram_api_url: Option<String>,
}

/// The bot's configuration: flags, then `AOMI_TELEGRAM_*` variables, then the file's
/// `telegram_*` keys, then the defaults. `public_url` falls back to the server's public address
/// (`server_url`); `default_chain_id` is the server's default network's.
pub fn config(
    args: &BotFlags,
    file: &FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
    server_url: Option<String>,
    default_chain_id: u64,
) -> anyhow::Result<TelegramConfig> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let token =
        args.telegram_token.clone().or_else(|| env("TELEGRAM_BOT_TOKEN")).context(
            "no bot token: set AOMI_TELEGRAM_TOKEN to the token BotFather's /newbot gave (docs/telegram.md)",
        )?;
    let mut config = TelegramConfig::new(token.trim());
    if let Some(url) =
        args.telegram_api_url.clone().or_else(|| env("TELEGRAM_API_URL")).or_else(|| file.telegram_api_url.clone())
    {
        config.api_url = url;
    }
    config.public_url = env("AOMI_TELEGRAM_PUBLIC_URL").or_else(|| file.telegram_public_url.clone()).or(server_url);
    let number = |key: &str, from_file: Option<u64>| -> anyhow::Result<Option<u64>> {
        let var = format!("AOMI_TELEGRAM_{}", key.to_uppercase());
        match env(&var) {
            Some(value) => value.trim().parse().map(Some).with_context(|| format!("{var}={value} is not a number")),
            None => Ok(from_file),
        }
    };
    if let Some(secs) = number("poll_timeout_secs", file.telegram_poll_timeout_secs)? {
        config.poll_timeout = Duration::from_secs(secs);
    }
    if let Some(ms) = number("edit_interval_ms", file.telegram_edit_interval_ms)? {
        config.edit_interval = Duration::from_millis(ms);
    }
    if let Some(turns) = number("turns_per_minute", file.telegram_turns_per_minute.map(u64::from))? {
        config.turns_per_minute = u32::try_from(turns).context("telegram_turns_per_minute is too large")?;
    }
    if let Some(chars) = number("max_message_chars", file.telegram_max_message_chars.map(|c| c as u64))? {
        config.max_message_chars = usize::try_from(chars).context("telegram_max_message_chars is too large")?;
    }
    if let Some(secs) = number("link_ttl_secs", file.telegram_link_ttl_secs)? {
        config.link_ttl = Duration::from_secs(secs);
    }
    config.allowed_users = match env("AOMI_TELEGRAM_ALLOWED_USERS") {
        Some(list) => Some(
            list.split(',')
                .map(|id| id.trim().parse::<i64>().with_context(|| format!("\"{id}\" is not a Telegram user id")))
                .collect::<anyhow::Result<_>>()?,
        ),
        None => file.telegram_allowed_users.clone(),
    };
    config.default_chain_id = default_chain_id;
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BotFlags,
    }

    fn args(flags: &[&str]) -> BotFlags {
        Cli::try_parse_from(std::iter::once("aomi").chain(flags.iter().copied())).unwrap().args
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_variables_win_over_the_file_and_the_file_over_the_defaults() {
        let file: FileConfig = toml::from_str(
            "telegram_edit_interval_ms = 2500\ntelegram_turns_per_minute = 3\ntelegram_allowed_users = [1, 2]\n\
             telegram_public_url = \"https://file.example\"\ntelegram_max_message_chars = 100\n",
        )
        .unwrap();
        let env = lookup(&[("TELEGRAM_BOT_TOKEN", "123:abcdefghij"), ("AOMI_TELEGRAM_TURNS_PER_MINUTE", "7")]);
        let read = config(&args(&[]), &file, &env, Some("http://127.0.0.1:8080".into()), 31337).unwrap();
        assert_eq!(read.token, "123:abcdefghij");
        assert_eq!(read.edit_interval, Duration::from_millis(2500));
        assert_eq!(read.turns_per_minute, 7, "the variable wins");
        assert_eq!(read.allowed_users, Some(vec![1, 2]));
        assert_eq!(read.max_message_chars, 100);
        assert_eq!(read.public_url.as_deref(), Some("https://file.example"));
        assert_eq!(read.default_chain_id, 31337);
        assert_eq!(read.link_ttl, aomi_server::telegram::defaults::LINK_TTL);

        let env = lookup(&[("AOMI_TELEGRAM_ALLOWED_USERS", "5, 6"), ("TELEGRAM_API_URL", "http://127.0.0.1:9")]);
        let read = config(&args(&["--telegram-token", "9:zyxwvutsrq"]), &FileConfig::default(), &env, None, 1).unwrap();
        assert_eq!(read.allowed_users, Some(vec![5, 6]));
        assert_eq!(read.api_url, "http://127.0.0.1:9");
        assert_eq!(read.public_url, None);
        assert_eq!(read.edit_interval, aomi_server::telegram::defaults::EDIT_INTERVAL);
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let file = FileConfig::default();
        let error =
            |pairs: &[(&str, &str)]| config(&args(&[]), &file, &lookup(pairs), None, 1).unwrap_err().to_string();
        assert!(error(&[]).contains("AOMI_TELEGRAM_TOKEN"));
        assert!(error(&[("TELEGRAM_BOT_TOKEN", "not-a-token")]).contains("BotFather"));
        let token = ("TELEGRAM_BOT_TOKEN", "123:abcdefghij");
        assert!(error(&[token, ("AOMI_TELEGRAM_EDIT_INTERVAL_MS", "0")]).contains("edit_interval_ms"));
        assert!(error(&[token, ("AOMI_TELEGRAM_ALLOWED_USERS", "1,bob")]).contains("\"bob\""));
        assert!(error(&[token, ("AOMI_TELEGRAM_LINK_TTL_SECS", "soon")]).contains("not a number"));
    }
}
