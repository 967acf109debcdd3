//! The network registry: built-ins, a networks file, environment overrides, clear errors.

use aomi_chain::network::rpc_env_var;
use aomi_chain::{ChainError, NetworkRegistry};

#[test]
fn builtins_resolve_by_name_alias_and_chain_id() {
    let registry = NetworkRegistry::builtin();
    for (asked, name) in [
        ("ethereum", "ethereum"),
        ("Mainnet", "ethereum"),
        ("1", "ethereum"),
        ("base", "base"),
        ("arbitrum", "arbitrum"),
        ("op", "optimism"),
        ("polygon", "polygon"),
        ("sepolia", "sepolia"),
        ("Base Sepolia", "base-sepolia"),
        ("base_sepolia", "base-sepolia"),
        ("84532", "base-sepolia"),
        ("anvil", "devnet"),
        ("31337", "devnet"),
    ] {
        assert_eq!(registry.resolve(asked).unwrap().name, name, "{asked}");
    }
    assert_eq!(registry.by_name("devnet").unwrap().chain_id, 31337);
    assert!(registry.by_name("ethereum").unwrap().ens);
    assert!(!registry.by_name("base").unwrap().ens);
}

#[test]
fn unknown_networks_and_chain_ids_list_the_known_ones() {
    let registry = NetworkRegistry::builtin();
    let error = registry.resolve("solana").unwrap_err();
    assert!(matches!(error, ChainError::UnknownNetwork { .. }));
    let text = error.to_string();
    assert!(
        text.contains("unknown network \"solana\"") && text.contains("ethereum (1)") && text.contains("devnet (31337)"),
        "{text}"
    );
    let text = registry.for_chain_id(56).unwrap_err().to_string();
    assert!(text.contains("chain id 56 is not a network aomi knows") && text.contains("base (8453)"), "{text}");
    assert!(matches!(registry.resolve("999999"), Err(ChainError::UnknownChainId { chain_id: 999999, .. })));
}

#[test]
fn a_networks_file_adds_and_changes_networks() {
    let mut registry = NetworkRegistry::builtin();
    registry
        .merge_toml(
            r#"
            [networks.ethereum]
            rpc_urls = ["https://one.example/rpc/KEY", "https://two.example"]

            [networks.my-rollup]
            chain_id = 424242
            rpc_urls = ["http://127.0.0.1:9545"]
            native_symbol = "MRL"
            explorer = "https://explorer.example"
            "#,
        )
        .unwrap();
    let ethereum = registry.by_name("ethereum").unwrap();
    assert_eq!(ethereum.rpc_urls.len(), 2);
    assert_eq!(ethereum.chain_id, 1, "keys not given keep their built-in value");
    assert_eq!(ethereum.rpc_hosts(), "https://one.example, https://two.example", "paths (keys) are never shown");
    let rollup = registry.resolve("424242").unwrap();
    assert_eq!((rollup.name.as_str(), rollup.native.symbol.as_str()), ("my-rollup", "MRL"));

    for (bad, needle) in [
        ("[networks.x]\nchain_id = 5", "needs rpc_urls"),
        ("[networks.x]\nrpc_urls = [\"http://a\"]", "needs chain_id"),
        ("[networks.x]\nchain_id = 1\nrpc_urls = [\"http://a\"]", "both have chain id 1"),
        ("[networks.x]\nchain_id = 7\nrpc_urls = [\"ws://a\"]", "must be http or https"),
        ("[networks.x]\nchain_id = 7\nrpc_urls = [\"not a url\"]", "invalid"),
        ("[networks.Bad_Name]\nchain_id = 7\nrpc_urls = [\"http://a\"]", "lowercase"),
        ("[networks.x]\nchainid = 7", "invalid"),
    ] {
        let error = NetworkRegistry::builtin().merge_toml(bad).unwrap_err().to_string();
        assert!(error.contains(needle), "{bad}: {error}");
    }
}

#[test]
fn aomi_rpc_variables_replace_the_urls() {
    assert_eq!(rpc_env_var("base-sepolia"), "AOMI_RPC_BASE_SEPOLIA");
    let mut registry = NetworkRegistry::builtin();
    registry
        .apply_env(|name| match name {
            "AOMI_RPC_DEVNET" => Some("http://127.0.0.1:9999".into()),
            "AOMI_RPC_BASE_SEPOLIA" => Some("http://a.example, http://b.example".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(registry.by_name("devnet").unwrap().rpc_urls, ["http://127.0.0.1:9999"]);
    assert_eq!(registry.by_name("base-sepolia").unwrap().rpc_urls, ["http://a.example", "http://b.example"]);
    let error = NetworkRegistry::builtin().apply_env(|n| (n == "AOMI_RPC_BASE").then(|| "ftp://x".into())).unwrap_err();
    assert!(error.to_string().contains("must be http or https"));
}
