//! Card networks cannot exist here, so payments go through a [`Processor`]: the built-in
//! test-mode simulator, or an external payment the platform captured with its own processor.
//! A real connector implements the same trait.

/// How the customer paid, as the platform said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// A test token such as `pm_card_visa` (test mode only).
    TestToken(String),
    /// Captured by the platform's own processor; `reference` is its id there.
    External { reference: String },
}

impl PaymentMethod {
    pub fn kind(&self) -> &str {
        match self {
            PaymentMethod::TestToken(token) => token,
            PaymentMethod::External { .. } => "external",
        }
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            PaymentMethod::TestToken(_) => None,
            PaymentMethod::External { reference } => Some(reference),
        }
    }
}

/// What the processor says of an accepted payment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Authorized {
    /// The customer's bank disputes the payment at once, with this reason (the simulator's
    /// `pm_card_createDispute`; a real connector reports disputes later, as events).
    pub disputed_at_once: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub code: &'static str,
    pub message: &'static str,
}

pub trait Processor: Send + Sync {
    /// Authorises `amount_minor`; `Err` is a decline (the charge is recorded as failed).
    fn authorize(
        &self,
        livemode: bool,
        amount_minor: i64,
        method: &PaymentMethod,
    ) -> Result<Authorized, Decline>;

    /// Whether `authorize` reaches anything outside this process (an acquirer). Then a
    /// request's Idempotency-Key is checked before it is asked, so a replay never authorises
    /// twice; an in-process simulator leaves that to the charge writer's claim.
    fn reaches_outside(&self) -> bool {
        true
    }
}

/// The test tokens the simulator knows.
pub const TEST_TOKENS: &[&str] = &[
    "pm_card_visa",
    "pm_card_chargeDeclined",
    "pm_card_insufficientFunds",
    "pm_card_createDispute",
];

/// The token whose charge succeeds and is then disputed by the customer's bank.
pub const DISPUTE_TOKEN: &str = "pm_card_createDispute";

pub struct Simulator;

impl Processor for Simulator {
    fn reaches_outside(&self) -> bool {
        false
    }

    fn authorize(
        &self,
        _livemode: bool,
        _amount_minor: i64,
        method: &PaymentMethod,
    ) -> Result<Authorized, Decline> {
        match method {
            PaymentMethod::External { .. } => Ok(Authorized::default()),
            PaymentMethod::TestToken(token) => match token.as_str() {
                "pm_card_chargeDeclined" => Err(Decline {
                    code: "card_declined",
                    message: "Your card was declined.",
                }),
                "pm_card_insufficientFunds" => Err(Decline {
                    code: "insufficient_funds",
                    message: "Your card has insufficient funds.",
                }),
                DISPUTE_TOKEN => Ok(Authorized {
                    disputed_at_once: Some("fraudulent"),
                }),
                _ => Ok(Authorized::default()),
            },
        }
    }
}
