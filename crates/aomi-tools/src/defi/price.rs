//! `get_token_price`: a token's USD price from DefiLlama.

use std::sync::Arc;

use aomi_chain::ChainSessions;
use aomi_chain::prices::{DefiLlama, coin_for};
use aomi_core::{ToolContext, ToolError, ToolOutput, TypedTool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Asset, resolve_asset};
use crate::chain::{NETWORK_ARGUMENT, connection};

/// `get_token_price`: the USD price of a token or the network's coin.
#[derive(Debug, Clone)]
pub struct GetTokenPrice {
    sessions: Arc<ChainSessions>,
    prices: Arc<DefiLlama>,
}

impl GetTokenPrice {
    /// The tool over the chat sessions and a price client.
    pub fn new(sessions: Arc<ChainSessions>, prices: Arc<DefiLlama>) -> Self {
        GetTokenPrice { sessions, prices }
    }
}

/// The arguments of `get_token_price`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceArgs {
    /// the token: a symbol (ETH, USDC), a name, or a 0x token address
    pub token: String,
    /// The network, for this call only.
    #[serde(default)]
    #[schemars(description = NETWORK_ARGUMENT)]
    pub network: Option<String>,
}

/// The output of `get_token_price`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPrice {
    /// The network.
    pub network: String,
    /// The asset priced.
    pub token: Asset,
    /// The coin asked of DefiLlama; `null` when aomi knows no way to price the asset.
    #[schema(required = true)]
    pub coin: Option<String>,
    /// USD per whole token; `null` when DefiLlama has no price.
    #[schema(required = true)]
    pub usd: Option<f64>,
    /// When the price was seen (unix seconds).
    #[schema(required = true)]
    pub timestamp: Option<u64>,
    /// DefiLlama's confidence, 0 to 1.
    #[schema(required = true)]
    pub confidence: Option<f64>,
    /// A caveat (a devnet token priced as its mainnet namesake).
    #[schema(required = true)]
    pub note: Option<String>,
    /// `defillama`.
    pub source: String,
}

impl TypedTool for GetTokenPrice {
    const NAME: &'static str = "get_token_price";
    type Args = PriceArgs;
    type Output = TokenPrice;

    fn description(&self) -> String {
        "USD price of a token or of the network's coin, from DefiLlama (cached for a minute). Show USD values beside exact amounts, never instead of them.".into()
    }

    async fn run(&self, args: PriceArgs, ctx: ToolContext) -> Result<ToolOutput<TokenPrice>, ToolError> {
        let conn = connection(&self.sessions, &ctx, args.network.as_deref())?;
        let token = resolve_asset(&self.sessions, &conn, &args.token).await?;
        let network = conn.network.name.clone();
        let Some((coin, note)) = coin_for(conn.network.chain_id, token.address, &token.symbol) else {
            let summary = format!("aomi has no price source for {} on {network}", token.symbol);
            let output = TokenPrice {
                network,
                token,
                coin: None,
                usd: None,
                timestamp: None,
                confidence: None,
                note: None,
                source: "defillama".into(),
            };
            return Ok(ToolOutput::new(output, summary));
        };
        let price = self.prices.price(&coin).await.map_err(|e| ToolError::Failed(e.to_string()))?;
        let summary = match (&price, &note) {
            (Some(p), None) => format!("1 {} = {} USD (DefiLlama)", token.symbol, p.usd),
            (Some(p), Some(note)) => format!("1 {} = {} USD (DefiLlama; {note})", token.symbol, p.usd),
            (None, _) => format!("DefiLlama has no price for {} ({coin})", token.symbol),
        };
        let output = TokenPrice {
            network,
            token,
            coin: Some(coin),
            usd: price.as_ref().map(|p| p.usd),
            timestamp: price.as_ref().map(|p| p.timestamp),
            confidence: price.as_ref().and_then(|p| p.confidence),
            note,
            source: "defillama".into(),
        };
        Ok(ToolOutput::new(output, summary))
    }
}
