//! The Uniswap contracts' build artifacts, read from the official npm packages installed in
//! `tools/` (`npm install --prefix tools`), never compiled or written by aomi.
//!
//! The packages and versions are pinned in `tools/package.json` and recorded in
//! `contracts/uniswap.md`. Two artifact formats: the V2 packages ship waffle's (`abi`, `bytecode`
//! without `0x`, `evm.deployedBytecode.object`), the V3 packages hardhat's (`contractName`, `abi`,
//! `bytecode`, `deployedBytecode`). None of the contracts used needs library linking.

use std::path::{Path, PathBuf};

use alloy::primitives::{B256, Bytes, hex, keccak256};
use serde_json::Value;

use crate::contracts::Artifact;
use crate::devnet::DevnetError;

/// The npm packages and the versions aomi deploys (as pinned in `tools/package.json`).
pub const PACKAGES: &[(&str, &str)] = &[
    ("@uniswap/v2-core", "1.0.1"),
    ("@uniswap/v2-periphery", "1.1.0-beta.0"),
    ("@uniswap/v3-core", "1.0.1"),
    ("@uniswap/v3-periphery", "1.4.4"),
];

/// The init code hash compiled into the published `UniswapV2Router02` (its `pairFor` computes pair
/// addresses with it). [`UniswapArtifacts::load`] replaces it with the keccak of the pair creation
/// code the factory really deploys, so the router finds the devnet's pairs whatever the published
/// bytes hold.
pub const ROUTER_INIT_CODE_HASH: B256 =
    alloy::primitives::b256!("96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f");

/// The artifacts the devnet deploys or registers.
#[derive(Debug, Clone)]
pub struct UniswapArtifacts {
    /// `UniswapV2Factory`.
    pub v2_factory: Artifact,
    /// `UniswapV2Pair` (registered at each pair; created by the factory).
    pub v2_pair: Artifact,
    /// `UniswapV2Router02`, its init code hash patched (see [`ROUTER_INIT_CODE_HASH`]).
    pub v2_router: Artifact,
    /// `UniswapV3Factory`.
    pub v3_factory: Artifact,
    /// `UniswapV3Pool` (registered at each pool; created by the factory).
    pub v3_pool: Artifact,
    /// `NonfungiblePositionManager`.
    pub position_manager: Artifact,
    /// `SwapRouter` (V3).
    pub swap_router: Artifact,
    /// `QuoterV2`.
    pub quoter: Artifact,
    /// The keccak of the V2 pair creation code (what the router now carries).
    pub v2_init_code_hash: B256,
    /// Each package with the version found installed.
    pub versions: Vec<(String, String)>,
}

impl UniswapArtifacts {
    /// Reads the artifacts from the `node_modules` folder that holds `@uniswap/…`
    /// ([`find_node_modules`] finds the one of `tools/`).
    pub fn load(node_modules: &Path) -> Result<Self, DevnetError> {
        let mut versions = Vec::new();
        for (package, expected) in PACKAGES {
            let manifest = node_modules.join(package).join("package.json");
            let text = std::fs::read_to_string(&manifest).map_err(|_| missing(package))?;
            let json: Value = serde_json::from_str(&text).map_err(|e| bad(package, e))?;
            let version = json["version"].as_str().unwrap_or_default().to_owned();
            if version != *expected {
                tracing::warn!(package, version, expected, "an unexpected version of a Uniswap package is installed");
            }
            versions.push(((*package).to_owned(), version));
        }
        let v2 = |package: &str, name: &str| read(node_modules, package, &format!("build/{name}.json"), name);
        let v3 = |package: &str, path: &str, name: &str| {
            read(node_modules, package, &format!("artifacts/contracts/{path}/{name}.json"), name)
        };
        let v2_pair = v2("@uniswap/v2-core", "UniswapV2Pair")?;
        let v2_init_code_hash = keccak256(&v2_pair.bytecode);
        let mut v2_router = v2("@uniswap/v2-periphery", "UniswapV2Router02")?;
        v2_router.bytecode = patch_init_code_hash(&v2_router.bytecode, v2_init_code_hash)?;
        Ok(UniswapArtifacts {
            v2_factory: v2("@uniswap/v2-core", "UniswapV2Factory")?,
            v2_pair,
            v2_router,
            v3_factory: v3("@uniswap/v3-core", "UniswapV3Factory.sol", "UniswapV3Factory")?,
            v3_pool: v3("@uniswap/v3-core", "UniswapV3Pool.sol", "UniswapV3Pool")?,
            position_manager: v3(
                "@uniswap/v3-periphery",
                "NonfungiblePositionManager.sol",
                "NonfungiblePositionManager",
            )?,
            swap_router: v3("@uniswap/v3-periphery", "SwapRouter.sol", "SwapRouter")?,
            quoter: v3("@uniswap/v3-periphery", "lens/QuoterV2.sol", "QuoterV2")?,
            v2_init_code_hash,
            versions,
        })
    }

    /// [`load`](Self::load) from `AOMI_UNISWAP_MODULES`, else the `node_modules` of `tools/`.
    pub fn find() -> Result<Self, DevnetError> {
        let modules = find_node_modules().ok_or_else(|| missing("@uniswap/v3-periphery"))?;
        Self::load(&modules)
    }
}

/// Replaces the router's compiled-in init code hash with `hash`. The constant must appear exactly
/// once: anything else means another router build, which is refused rather than guessed at.
pub fn patch_init_code_hash(bytecode: &Bytes, hash: B256) -> Result<Bytes, DevnetError> {
    let needle = ROUTER_INIT_CODE_HASH.as_slice();
    let positions: Vec<usize> =
        bytecode.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    let [at] = positions[..] else {
        return Err(DevnetError::Deploy {
            contract: "UniswapV2Router02".into(),
            reason: format!("its init code hash appears {} times in the bytecode, not once", positions.len()),
        });
    };
    let mut patched = bytecode.to_vec();
    patched[at..at + 32].copy_from_slice(hash.as_slice());
    Ok(Bytes::from(patched))
}

/// The `node_modules` folder holding the Uniswap packages: `AOMI_UNISWAP_MODULES`, else
/// `tools/node_modules` of the current directory or a parent (or of the repository this binary was
/// built from).
pub fn find_node_modules() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AOMI_UNISWAP_MODULES").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    crate::devnet::tool_roots()
        .into_iter()
        .map(|root| root.join("tools").join("node_modules"))
        .find(|modules| modules.join("@uniswap").join("v3-periphery").is_dir())
}

fn missing(package: &str) -> DevnetError {
    DevnetError::Deploy {
        contract: package.to_owned(),
        reason: format!(
            "the npm package {package} is not installed: run `{}` in the aomi repository",
            crate::devnet::INSTALL_HINT
        ),
    }
}

fn bad(what: &str, error: impl std::fmt::Display) -> DevnetError {
    DevnetError::Deploy { contract: what.to_owned(), reason: format!("its artifact is invalid: {error}") }
}

/// Reads one artifact, in either format.
fn read(node_modules: &Path, package: &str, path: &str, name: &str) -> Result<Artifact, DevnetError> {
    let file = node_modules.join(package).join(path);
    let text = std::fs::read_to_string(&file).map_err(|_| missing(package))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| bad(name, e))?;
    let code = |primary: &str, waffle: &str| -> Result<Bytes, DevnetError> {
        let text = json[primary].as_str().or_else(|| json["evm"][waffle]["object"].as_str()).unwrap_or_default();
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(|e| bad(name, e))?;
        if bytes.is_empty() {
            return Err(bad(name, format!("no {primary}")));
        }
        Ok(Bytes::from(bytes))
    };
    Ok(Artifact {
        contract_name: name.to_owned(),
        abi: serde_json::from_value(json["abi"].clone()).map_err(|e| bad(name, e))?,
        bytecode: code("bytecode", "bytecode")?,
        deployed_bytecode: match json["deployedBytecode"].as_str() {
            Some(_) => code("deployedBytecode", "deployedBytecode")?,
            None => {
                let text = json["evm"]["deployedBytecode"]["object"].as_str().unwrap_or_default();
                Bytes::from(hex::decode(text.trim_start_matches("0x")).map_err(|e| bad(name, e))?)
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_code_hash_is_replaced_once_and_only_when_found_once() {
        let hash = B256::repeat_byte(0xab);
        let code: Bytes = [&[0x60u8, 0x80][..], ROUTER_INIT_CODE_HASH.as_slice(), &[0x00]].concat().into();
        let patched = patch_init_code_hash(&code, hash).unwrap();
        assert_eq!(&patched[2..34], hash.as_slice());
        assert_eq!(patched.len(), code.len());
        assert!(patch_init_code_hash(&Bytes::from(vec![0u8; 40]), hash).is_err());
        let twice: Bytes = [ROUTER_INIT_CODE_HASH.as_slice(), ROUTER_INIT_CODE_HASH.as_slice()].concat().into();
        assert!(patch_init_code_hash(&twice, hash).is_err());
    }
}
