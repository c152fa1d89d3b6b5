//! A place request as the paper exchange takes it: Peatio's checks of its fields, exact to the
//! digit (a text with more digits than a decimal holds is refused, never rounded).

use crate::sim::NewOrder;
use crate::venue::rest::{codes, OrderRequest};
use crate::venue::MarketRules;
use rust_decimal::Decimal;

/// A place request as the exchange takes it; an error code when it cannot be one.
pub fn new_order(req: &OrderRequest, rules: &[MarketRules]) -> Result<NewOrder, &'static str> {
    if !rules.iter().any(|r| r.id == req.market) {
        return Err(codes::MARKET_NOT_ENABLED);
    }
    // Exact or refused: a text with more digits than a decimal holds is not rounded to one.
    let decimal = |s: &str| {
        Decimal::from_str_exact(s)
            .ok()
            .filter(|d| d.is_sign_positive() && !d.is_zero())
            .ok_or(codes::INVALID_VOLUME_OR_PRICE)
    };
    let volume = decimal(&req.volume)?;
    match req.ord_type.as_str() {
        "limit" => {
            let price = decimal(req.price.as_deref().ok_or(codes::INVALID_VOLUME_OR_PRICE)?)?;
            Ok(NewOrder::limit(&req.market, req.side, volume, price))
        }
        "market" if req.price.is_some() => Err(codes::MARKET_ORDER_PRICE),
        "market" => Ok(NewOrder::market(&req.market, req.side, volume)),
        _ => Err(codes::CREATE_ERROR),
    }
}
