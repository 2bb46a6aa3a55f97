//! ISO 20022 customer payment status reports (`pain.002`), the bank's answer to a pain.001.
//!
//! Read versions `pain.002.001.03` (the SEPA classic) and `pain.002.001.10` (the same shape
//! for the parts used here); any other `pain.002.001.NN` namespace is read the same way since
//! these elements have not moved between versions. Elements are matched by local name.
//!
//! Transaction statuses map as follows:
//!
//! | `TxSts` | [`PaymentStatus`] | meaning |
//! | --- | --- | --- |
//! | `ACSC`, `ACCC`, `ACSP`, `ACCP`, `ACWC`, `ACFC` | `Accepted` | accepted for (or settled on) the creditor's side |
//! | `RJCT` | `Rejected` | rejected, see the reason code |
//! | `PDNG`, `ACTC`, `RCVD`, `ACWP`, `PART`, anything else | `Pending` | not final yet |
//!
//! A group or payment-information level `RJCT` without per-transaction detail rejects every
//! transaction of the original message; callers see it in [`StatusReportFile::group_status`]
//! and [`StatusReportFile::payment_information`].

use crate::failure::FailureCode;
use crate::xml::{self, Element, Limits, XmlError};
use crate::MAX_BATCH_ENTRIES;

const LIMITS: Limits = Limits {
    max_bytes: 32 * 1024 * 1024,
    max_depth: 32,
    max_elements: 64 * MAX_BATCH_ENTRIES,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Accepted,
    Rejected,
    Pending,
}

impl PaymentStatus {
    /// Classifies an ISO 20022 `ExternalPaymentTransactionStatus1Code`.
    pub fn from_iso(code: &str) -> Self {
        match code {
            "ACSC" | "ACCC" | "ACSP" | "ACCP" | "ACWC" | "ACFC" => PaymentStatus::Accepted,
            "RJCT" => PaymentStatus::Rejected,
            _ => PaymentStatus::Pending,
        }
    }
}

/// The status of one credit transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// `OrgnlEndToEndId`: the payout id written in the pain.001.
    pub end_to_end_id: String,
    pub status: PaymentStatus,
    /// The raw `TxSts` code.
    pub status_code: String,
    /// First `StsRsnInf/Rsn/Cd` (or `Prtry`), e.g. `AC04`.
    pub reason_code: Option<String>,
}

/// Status of a whole payment information block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInformationStatus {
    pub original_payment_information_id: String,
    pub status: Option<PaymentStatus>,
    pub status_code: Option<String>,
    pub reason_code: Option<String>,
}

/// Everything read from one pain.002 document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReportFile {
    /// The namespace version, e.g. `pain.002.001.03`.
    pub version: String,
    pub original_message_id: Option<String>,
    pub group_status: Option<PaymentStatus>,
    pub group_reason_code: Option<String>,
    pub payment_information: Vec<PaymentInformationStatus>,
    pub transactions: Vec<StatusReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Pain002Error {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("not a pain.002 document (namespace `{0}`)")]
    NotPain002(String),
    #[error("missing element {0}")]
    Missing(&'static str),
    #[error("more than {MAX_BATCH_ENTRIES} transactions")]
    TooMany,
}

const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";

fn reason(el: &Element) -> Option<String> {
    el.children_named("StsRsnInf")
        .find_map(|s| {
            s.text_at(&["Rsn", "Cd"])
                .or_else(|| s.text_at(&["Rsn", "Prtry"]))
        })
        .map(str::to_owned)
}

/// Parses a pain.002 status report.
pub fn parse_status_report(xml: &str) -> Result<StatusReportFile, Pain002Error> {
    let root = xml::parse(xml, &LIMITS)?;
    let namespace = root.attr("xmlns").unwrap_or_default();
    let version = namespace.strip_prefix(NAMESPACE_PREFIX).unwrap_or_default();
    if root.name != "Document" || !version.starts_with("pain.002.001.") {
        return Err(Pain002Error::NotPain002(
            namespace.chars().take(100).collect(),
        ));
    }
    let report = root
        .child("CstmrPmtStsRpt")
        .ok_or(Pain002Error::Missing("CstmrPmtStsRpt"))?;
    let group = report
        .child("OrgnlGrpInfAndSts")
        .ok_or(Pain002Error::Missing("OrgnlGrpInfAndSts"))?;
    let group_code = group.text_at(&["GrpSts"]);

    let mut payment_information = Vec::new();
    let mut transactions = Vec::new();
    for pmt in report.children_named("OrgnlPmtInfAndSts") {
        let code = pmt.text_at(&["PmtInfSts"]);
        payment_information.push(PaymentInformationStatus {
            original_payment_information_id: pmt
                .text_at(&["OrgnlPmtInfId"])
                .unwrap_or_default()
                .to_owned(),
            status: code.map(PaymentStatus::from_iso),
            status_code: code.map(str::to_owned),
            reason_code: reason(pmt),
        });
        for tx in pmt.children_named("TxInfAndSts") {
            if transactions.len() >= MAX_BATCH_ENTRIES {
                return Err(Pain002Error::TooMany);
            }
            let end_to_end_id = tx
                .text_at(&["OrgnlEndToEndId"])
                .ok_or(Pain002Error::Missing("TxInfAndSts/OrgnlEndToEndId"))?;
            // A transaction without its own status inherits its block's, then the group's.
            let code = tx
                .text_at(&["TxSts"])
                .or(code)
                .or(group_code)
                .ok_or(Pain002Error::Missing("TxInfAndSts/TxSts"))?;
            transactions.push(StatusReport {
                end_to_end_id: end_to_end_id.to_owned(),
                status: PaymentStatus::from_iso(code),
                status_code: code.to_owned(),
                reason_code: reason(tx).or_else(|| reason(pmt)),
            });
        }
    }
    Ok(StatusReportFile {
        version: version.to_owned(),
        original_message_id: group.text_at(&["OrgnlMsgId"]).map(str::to_owned),
        group_status: group_code.map(PaymentStatus::from_iso),
        group_reason_code: reason(group),
        payment_information,
        transactions,
    })
}

/// Maps an ISO 20022 status reason code (`ExternalStatusReason1Code`) to a [`FailureCode`].
pub fn map_reason_code(code: &str) -> FailureCode {
    match code.trim().to_ascii_uppercase().as_str() {
        // AC01 incorrect account number, AC03 invalid creditor account number.
        "AC01" | "AC03" => FailureCode::InvalidAccountNumber,
        // AC04 closed account, MD07 end customer deceased.
        "AC04" | "MD07" => FailureCode::AccountClosed,
        // AC06 blocked account.
        "AC06" => FailureCode::AccountFrozen,
        // AG01 transaction forbidden, AM05 duplication, MS02 refused by the customer.
        "AG01" | "AM05" | "MS02" => FailureCode::Declined,
        // BE04 missing creditor address, BE05 unrecognised initiating party: the
        // beneficiary could not be identified.
        "BE04" | "BE05" => FailureCode::NoAccount,
        // AM04 insufficient funds (on our debtor account).
        "AM04" => FailureCode::InsufficientFunds,
        // AM03 currency not processable.
        "AM03" => FailureCode::InvalidCurrency,
        // AG03 transaction type not supported on the account, RR04 regulatory reason.
        "AG03" | "RR04" => FailureCode::BankAccountRestricted,
        _ => FailureCode::CouldNotProcess,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V03: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-11-26T08:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>MSG-2026-11-25-0001</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>PMT-2026-11-25-0001</OrgnlPmtInfId>
      <TxInfAndSts>
        <StsId>1</StsId>
        <OrgnlEndToEndId>po1</OrgnlEndToEndId>
        <TxSts>ACSC</TxSts>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>po2</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></StsRsnInf>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>po3</OrgnlEndToEndId>
        <TxSts>PDNG</TxSts>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>"#;

    const V10: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<p:Document xmlns:p="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10" xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-2</MsgId><CreDtTm>2026-11-26T08:00:00+01:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>MSG-2</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>PMT-2</OrgnlPmtInfId>
      <PmtInfSts>PART</PmtInfSts>
      <TxInfAndSts>
        <OrgnlInstrId>po7</OrgnlInstrId>
        <OrgnlEndToEndId>po7</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Orgtr><Nm>Bank</Nm></Orgtr><Rsn><Cd>MD07</Cd></Rsn></StsRsnInf>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>po8</OrgnlEndToEndId>
        <TxSts>ACCP</TxSts>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</p:Document>"#;

    #[test]
    fn reads_version_03() {
        let f = parse_status_report(V03).unwrap();
        assert_eq!(f.version, "pain.002.001.03");
        assert_eq!(
            f.original_message_id.as_deref(),
            Some("MSG-2026-11-25-0001")
        );
        assert_eq!(f.group_status, Some(PaymentStatus::Pending));
        let t = &f.transactions;
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].end_to_end_id.as_str(), t[0].status),
            ("po1", PaymentStatus::Accepted)
        );
        assert_eq!(t[1].status, PaymentStatus::Rejected);
        assert_eq!(t[1].reason_code.as_deref(), Some("AC04"));
        assert_eq!(map_reason_code("AC04"), FailureCode::AccountClosed);
        assert_eq!(t[2].status, PaymentStatus::Pending);
        assert_eq!(t[2].reason_code, None);
    }

    #[test]
    fn reads_version_10() {
        let f = parse_status_report(V10).unwrap();
        assert_eq!(f.version, "pain.002.001.10");
        assert_eq!(
            f.payment_information[0].original_payment_information_id,
            "PMT-2"
        );
        assert_eq!(f.transactions[0].reason_code.as_deref(), Some("MD07"));
        assert_eq!(f.transactions[0].status, PaymentStatus::Rejected);
        assert_eq!(f.transactions[1].status, PaymentStatus::Accepted);
    }

    #[test]
    fn whole_block_rejected_without_transactions() {
        let xml = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
            <OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><GrpSts>RJCT</GrpSts>
            <StsRsnInf><Rsn><Cd>AM05</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
            </CstmrPmtStsRpt></Document>"#;
        let f = parse_status_report(xml).unwrap();
        assert_eq!(f.group_status, Some(PaymentStatus::Rejected));
        assert_eq!(f.group_reason_code.as_deref(), Some("AM05"));
        assert!(f.transactions.is_empty());
    }

    #[test]
    fn refuses_other_documents() {
        let pain001 = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>"#;
        assert!(matches!(
            parse_status_report(pain001),
            Err(Pain002Error::NotPain002(_))
        ));
        assert!(matches!(
            parse_status_report("<a>"),
            Err(Pain002Error::Xml(_))
        ));
    }

    #[test]
    fn reason_codes() {
        assert_eq!(map_reason_code("AC01"), FailureCode::InvalidAccountNumber);
        assert_eq!(map_reason_code("AC04"), FailureCode::AccountClosed);
        assert_eq!(map_reason_code("AC06"), FailureCode::AccountFrozen);
        assert_eq!(map_reason_code("AG01"), FailureCode::Declined);
        assert_eq!(map_reason_code("AM05"), FailureCode::Declined);
        assert_eq!(map_reason_code("MD07"), FailureCode::AccountClosed);
        assert_eq!(map_reason_code("BE04"), FailureCode::NoAccount);
        assert_eq!(map_reason_code("be05"), FailureCode::NoAccount);
        assert_eq!(map_reason_code("AM04"), FailureCode::InsufficientFunds);
        assert_eq!(map_reason_code("FF01"), FailureCode::CouldNotProcess);
    }
}
