//! Every string of the hosted pages and emails, in English and Swedish, in one table. A key
//! missing from the table shows as the key itself, and a unit test keeps the table complete.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Sv,
}

impl Locale {
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "sv" => Some(Locale::Sv),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Sv => "sv",
        }
    }

    /// The best of ours for an `Accept-Language` header (`sv-SE,sv;q=0.9,en;q=0.8`): the
    /// language with the highest q that we have; English when none.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut best: Option<(f32, Locale)> = None;
        // Bounded: a header with thousands of entries is not worth reading.
        for part in header.unwrap_or("").split(',').take(32) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let primary = tag.split('-').next().unwrap_or("");
            let Some(locale) = Locale::parse(primary) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, locale));
            }
        }
        best.map_or(Locale::En, |(_, l)| l)
    }

    /// Every language the pages are translated into, in the order the language list shows.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Sv];

    /// The language's name in itself, as a language list shows it.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Sv => "Svenska",
        }
    }
}

/// Translator handed to templates: `{{ t.s("key") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Locale);

impl Tr {
    pub fn s(&self, key: &str) -> &'static str {
        lookup(self.0, key).unwrap_or_else(|| {
            tracing::warn!(key, "missing string");
            "?"
        })
    }

    /// The string `key`, if the table has it.
    pub fn get(&self, key: &str) -> Option<&'static str> {
        lookup(self.0, key)
    }

    /// The string `key` with the platform's name for `{name}`. Under Agora's own name (no
    /// `branding_name` set) the key's `.unbranded` variant where one exists, so that no page
    /// or email says "Agora uses Agora" or "Agora and Agora".
    pub fn named(&self, key: &str, brand_name: &str) -> String {
        if brand_name == crate::infra::config::DEFAULT_BRANDING_NAME {
            if let Some(text) = lookup(self.0, &format!("{key}.unbranded")) {
                return text.to_owned();
            }
        }
        self.s(key).replace("{name}", brand_name)
    }

    /// The message for an error code from the validators, in this language. Codes without an
    /// entry fall back to a generic message (English keeps the validator's own message).
    pub fn error(&self, code: &str, api_message: &str) -> String {
        if let Some(text) = lookup(self.0, &format!("err.{code}")) {
            return text.to_owned();
        }
        match self.0 {
            Locale::En => api_message.to_owned(),
            Locale::Sv => self.s("err.generic").to_owned(),
        }
    }
}

fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    STRINGS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, en, sv)| match locale {
            Locale::En => *en,
            Locale::Sv => *sv,
        })
}

/// (key, English, Swedish).
pub const STRINGS: &[(&str, &str, &str)] = &[
    ("lang.label", "Language", "Språk"),
    ("powered", "Powered by Agora", "Drivs av Agora"),
    ("footer.terms", "Terms of service", "Användarvillkor"),
    ("footer.privacy", "Privacy notice", "Integritetspolicy"),
    ("skip", "Skip to content", "Hoppa till innehållet"),
    ("title.onboarding", "Set up payouts", "Kom igång med utbetalningar"),
    ("title.update", "Update your details", "Uppdatera dina uppgifter"),
    ("intro", "{name} uses Agora to pay out your money. We only ask for what the law and the banks require.", "{name} använder Agora för att betala ut pengar till dig. Vi frågar bara efter det som lagen och bankerna kräver."),
    ("intro.unbranded", "Agora pays out your money. We only ask for what the law and the banks require.", "Agora betalar ut pengar till dig. Vi frågar bara efter det som lagen och bankerna kräver."),
    ("progress", "Steps", "Steg"),
    ("state.done", "done", "klart"),
    ("state.current", "current step", "nuvarande steg"),
    ("state.todo", "to do", "att göra"),
    // A step with nothing due for this link but something due before payouts.
    ("state.later", "later", "senare"),
    ("later.review", "Needed later — {name} will ask you before your first payout.", "Behövs senare — {name} ber dig om det före första utbetalningen."),
    ("later.review.unbranded", "Needed later — we will ask you before your first payout.", "Behövs senare — vi ber dig om det före första utbetalningen."),
    ("later.intro", "Not needed yet: you can give it now, or {name} will ask you before your first payout.", "Behövs inte än: du kan fylla i det nu, annars ber {name} dig om det före första utbetalningen."),
    ("later.intro.unbranded", "Not needed yet: you can give it now, or we will ask you before your first payout.", "Behövs inte än: du kan fylla i det nu, annars ber vi dig om det före första utbetalningen."),
    ("step.business", "Your business", "Din verksamhet"),
    ("step.details", "Your details", "Dina uppgifter"),
    ("step.company", "Company details", "Företagsuppgifter"),
    ("step.owners", "Owners", "Ägare"),
    ("step.owners_directors", "Owners and directors", "Ägare och styrelseledamöter"),
    ("step.bank", "Bank account", "Bankkonto"),
    ("step.document", "Identity document", "Id-handling"),
    ("step.terms", "Terms", "Villkor"),
    ("step.review", "Review and submit", "Granska och skicka"),
    ("continue", "Continue", "Fortsätt"),
    ("submit", "Submit", "Skicka"),
    ("required", "All fields are required unless marked optional.", "Alla fält måste fyllas i om de inte är markerade som frivilliga."),
    ("errors.title", "There is a problem", "Något behöver rättas"),
    ("business_type", "Type of business", "Typ av verksamhet"),
    ("business_type.individual", "Individual or sole trader", "Privatperson eller enskild firma"),
    ("business_type.company", "Company", "Företag"),
    ("business_profile.mcc", "What do you sell?", "Vad säljer du?"),
    ("mcc.5734", "Software and digital goods", "Programvara och digitala varor"),
    ("mcc.5699", "Clothing and accessories", "Kläder och accessoarer"),
    ("mcc.5945", "Toys, games and hobbies", "Leksaker, spel och hobby"),
    ("mcc.5812", "Food and restaurants", "Mat och restauranger"),
    ("mcc.7299", "Personal services", "Personliga tjänster"),
    ("mcc.5999", "Other goods", "Andra varor"),
    ("choose", "Choose…", "Välj…"),
    ("business_profile.url", "Website or shop page", "Webbplats eller butikssida"),
    ("hint.url", "For example shop.example.com", "Till exempel butik.example.se"),
    ("no_website", "I have no website", "Jag har ingen webbplats"),
    ("business_profile.product_description", "What you sell, in a sentence or two", "Vad du säljer, med en eller två meningar"),
    ("hint.product_description", "Required if you have no website", "Krävs om du inte har någon webbplats"),
    ("first_name", "First name", "Förnamn"),
    ("last_name", "Last name", "Efternamn"),
    ("email", "Email address", "E-postadress"),
    ("phone", "Phone number", "Telefonnummer"),
    ("hint.phone", "With the country code, starting with +", "Med landsnummer, börjar med +"),
    // {example}: the country's number in international form (steps::phone_example).
    ("hint.phone.national", "For example {example}, or as you dial it at home", "Till exempel {example}, eller som du slår det hemma"),
    ("err.phone_national", "Start with {code} instead of 0, for example {example}.", "Börja med {code} i stället för 0, till exempel {example}."),
    ("dob", "Date of birth", "Födelsedatum"),
    ("hint.dob.iso", "For example 19900131 or 1990-01-31", "Till exempel 19900131 eller 1990-01-31"),
    ("hint.dob.dot", "Day, month, year: for example 31.01.1990 or 19900131", "Dag, månad, år: till exempel 31.01.1990 eller 19900131"),
    ("hint.dob.dmy", "Day, month, year: for example 31/01/1990 or 19900131", "Dag, månad, år: till exempel 31/01/1990 eller 19900131"),
    ("hint.dob.us", "Month, day, year: for example 01/31/1990 or 19900131", "Månad, dag, år: till exempel 01/31/1990 eller 19900131"),
    ("id_number", "National identity number", "Nationellt id-nummer"),
    ("id_number.se", "Personal identity number (personnummer)", "Personnummer"),
    ("hint.id_number.se", "10 or 12 digits, for example YYYYMMDD-XXXX", "10 eller 12 siffror, till exempel ÅÅÅÅMMDD-XXXX"),
    ("hint.id_number.se_dob", "10 or 12 digits, for example YYYYMMDD-XXXX. Your date of birth is taken from it.", "10 eller 12 siffror, till exempel ÅÅÅÅMMDD-XXXX. Ditt födelsedatum hämtas från det."),
    ("ssn_last_4", "Last 4 digits of your Social Security number", "De fyra sista siffrorna i ditt Social Security-nummer"),
    ("address.line1", "Street address", "Gatuadress"),
    ("address.city", "City", "Ort"),
    ("address.postal_code", "Postal code", "Postnummer"),
    ("address.state", "State", "Delstat"),
    ("company.name", "Company name", "Företagsnamn"),
    ("company.tax_id", "Company tax id", "Företagets skatte-id"),
    ("company.tax_id.de", "VAT number (USt-IdNr.)", "Momsregistreringsnummer (USt-IdNr.)"),
    ("hint.tax_id.de", "For example DE123456789", "Till exempel DE123456789"),
    ("err.tax_id_steuernummer", "Enter the VAT number (USt-IdNr.), for example DE123456789 — not the Steuernummer.", "Ange momsregistreringsnumret (USt-IdNr.), till exempel DE123456789 — inte Steuernummer."),
    ("hint.registration_number.de", "For example HRB 123456", "Till exempel HRB 123456"),
    ("hint.tax_id.se", "Organisationsnummer, for example 556036-0793", "Organisationsnummer, till exempel 556036-0793"),
    ("hint.tax_id.us", "Employer Identification Number (EIN), for example 12-3456789", "Employer Identification Number (EIN), till exempel 12-3456789"),
    ("hint.tax_id.gb", "VAT registration number or Unique Taxpayer Reference (UTR)", "Momsregistreringsnummer (VAT) eller Unique Taxpayer Reference (UTR)"),
    ("hint.tax_id.eu", "VAT identification number, with or without the country prefix", "Momsregistreringsnummer, med eller utan landsprefix"),
    ("company.registration_number", "Trade register number", "Registreringsnummer"),
    ("section.company", "The company", "Företaget"),
    ("section.representative", "You, representing the company", "Du som företräder företaget"),
    ("owners.intro", "List everyone who owns 25 % or more of the company. Leave the rows empty if nobody does.", "Ange alla som äger 25 % eller mer av företaget. Lämna raderna tomma om ingen gör det."),
    ("owners.intro.directors", "A company in your country must name at least one director. List also everyone who owns 25 % or more of it (leave those rows empty if nobody does).", "Ett företag i ditt land måste ange minst en styrelseledamot. Ange också alla som äger 25 % eller mer av det (lämna de raderna tomma om ingen gör det)."),
    ("owner", "Owner", "Ägare"),
    ("director", "Director", "Styrelseledamot"),
    ("section.you", "You", "Du"),
    ("owners_me", "I, {person}, own 25 % or more of the company", "Jag, {person}, äger 25 % eller mer av företaget"),
    ("owners_me_percent", "Your share (%)", "Din ägarandel (%)"),
    ("hint.owners_me_percent", "Only if you ticked the box above", "Bara om du kryssade i rutan ovan"),
    ("directors_me", "I, {person}, am a director", "Jag, {person}, är styrelseledamot"),
    ("ownership_percent", "Share owned (%)", "Ägarandel (%)"),
    ("iban", "IBAN", "IBAN"),
    ("hint.iban", "Starts with {country}, {n} characters in all, for example {example}", "Börjar med {country}, {n} tecken totalt, till exempel {example}"),
    ("hint.keep.bank", "Saved account: ending in {last4}. Enter a new IBAN only to change it.", "Sparat konto: slutar på {last4}. Fyll i ett nytt IBAN bara om du vill byta konto."),
    ("hint.keep.bank.us", "Saved account: ending in {last4}. Enter a new account number only to change it.", "Sparat konto: slutar på {last4}. Fyll i ett nytt kontonummer bara om du vill byta konto."),
    ("hint.iban.any", "Starts with the country code, for example {example}", "Börjar med landskoden, till exempel {example}"),
    ("routing_number", "Routing number", "Routingnummer"),
    ("account_number", "Account number", "Kontonummer"),
    ("account_holder_name", "Account holder's name", "Kontoinnehavarens namn"),
    ("bank.intro", "The account we pay your money into.", "Kontot som vi betalar ut dina pengar till."),
    ("document", "Photo or scan of your passport, national ID card or driving licence", "Foto eller skanning av ditt pass, nationella id-kort eller körkort"),
    // The representative fills in the pages: it is their own document.
    ("document.representative", "Photo or scan of your own passport, national ID card or driving licence (you, representing the company)", "Foto eller skanning av ditt eget pass, nationella id-kort eller körkort (du som företräder företaget)"),
    ("hint.document", "PNG, JPEG or PDF, at most 10 MB", "PNG, JPEG eller PDF, högst 10 MB"),
    // The terms linked (terms_url) are the platform's.
    ("terms.accept", "I accept {name}'s terms of service", "Jag godkänner användarvillkoren från {name}"),
    // When the platform runs under Agora's own name (no branding set), not "Agora and Agora".
    ("terms.accept.unbranded", "I accept Agora's terms of service", "Jag godkänner Agoras användarvillkor"),
    ("terms.intro", "Read the terms before you accept them:", "Läs villkoren innan du godkänner dem:"),
    ("terms.intro.none", "Accept the terms of service to continue.", "Godkänn användarvillkoren för att fortsätta."),
    ("review.intro", "Check what you told us, then submit. Use Change to correct anything.", "Kontrollera dina uppgifter och skicka sedan. Välj Ändra för att rätta något."),
    ("review.nothing_due", "Everything we need is in.", "Vi har allt vi behöver."),
    ("review.nothing_due_now", "Everything we need for now is in.", "Vi har allt vi behöver just nu."),
    ("review.dob_from_id", "{date} (taken from your personal identity number)", "{date} (hämtat från ditt personnummer)"),
    ("review.still_due", "Still missing:", "Saknas fortfarande:"),
    ("review.name", "Name", "Namn"),
    ("review.address", "Address", "Adress"),
    ("review.company_address", "Company address", "Företagets adress"),
    ("review.representative", "You, representing the company", "Du som företräder företaget"),
    ("review.id_number", "Identity number", "Id-nummer"),
    ("review.id_number.se", "Personal identity number", "Personnummer"),
    ("review.given", "Given (not shown)", "Angivet (visas inte)"),
    ("review.ending", "Ending in {last4}", "Slutar på {last4}"),
    ("review.bank", "Bank account", "Bankkonto"),
    ("review.document", "Identity document", "Id-handling"),
    ("review.uploaded", "Uploaded", "Uppladdad"),
    ("review.terms", "Terms accepted", "Villkor godkända"),
    ("review.nobody", "Nobody owns 25 % or more", "Ingen äger 25 % eller mer"),
    ("review.none", "Not given yet", "Inte angivet än"),
    ("change", "Change", "Ändra"),
    ("back_to_review", "Back to the review", "Tillbaka till granskningen"),
    ("hint.keep", "Leave empty to keep the one you gave.", "Lämna tomt för att behålla det du angav."),
    // The month names of "There is no 31 February 1980".
    ("month.1", "January", "januari"),
    ("month.2", "February", "februari"),
    ("month.3", "March", "mars"),
    ("month.4", "April", "april"),
    ("month.5", "May", "maj"),
    ("month.6", "June", "juni"),
    ("month.7", "July", "juli"),
    ("month.8", "August", "augusti"),
    ("month.9", "September", "september"),
    ("month.10", "October", "oktober"),
    ("month.11", "November", "november"),
    ("month.12", "December", "december"),
    ("yes", "Yes", "Ja"),
    ("no", "No", "Nej"),
    ("done.title", "Thank you, your details have been sent", "Tack, dina uppgifter har skickats"),
    ("submitted.title", "Your details have been sent", "Dina uppgifter har skickats"),
    ("submitted.body", "You have already sent your details. You can close this page.", "Du har redan skickat dina uppgifter. Du kan stänga sidan."),
    ("done.body", "We are checking your details. You will hear from {name} by email.", "Vi kontrollerar dina uppgifter. Du får besked från {name} via e-post."),
    ("done.body.unbranded", "We are checking your details. You will hear from us by email.", "Vi kontrollerar dina uppgifter. Du får besked från oss via e-post."),
    ("done.continue", "Continue to {name}", "Fortsätt till {name}"),
    ("done.continue.unbranded", "Continue", "Fortsätt"),
    ("optional", "optional", "frivilligt"),
    ("busy.title", "Too many requests", "För många förfrågningar"),
    ("busy.body", "That was a little fast. Wait a few seconds and try again.", "Det gick lite för fort. Vänta några sekunder och försök igen."),
    ("expired.title", "This page has expired", "Sidan har gått ut"),
    ("expired.body", "Your session has ended. Open the link from {name} again to continue.", "Din session har tagit slut. Öppna länken från {name} igen för att fortsätta."),
    ("expired.body.unbranded", "Your session has ended. Open the link you were sent again to continue.", "Din session har tagit slut. Öppna länken du fick igen för att fortsätta."),
    // No session in this browser at all (the link opened on another device): nothing ended.
    ("nosession.title", "Open your link to continue", "Öppna din länk för att fortsätta"),
    ("nosession.body", "Open the link from {name} again to continue.", "Öppna länken från {name} igen för att fortsätta."),
    ("nosession.body.unbranded", "Open the link you were sent again to continue.", "Öppna länken du fick igen för att fortsätta."),
    ("forbidden.title", "The form could not be sent", "Formuläret kunde inte skickas"),
    ("forbidden.body", "The form was too old or came from somewhere else. Go back, reload the page and try again.", "Formuläret var för gammalt eller kom från fel ställe. Gå tillbaka, ladda om sidan och försök igen."),
    ("unavailable.title", "Temporarily unavailable", "Tillfälligt otillgänglig"),
    ("unavailable.body", "Onboarding is not available right now. Please try again later, or contact {name}.", "Registreringen är inte tillgänglig just nu. Försök igen senare eller kontakta {name}."),
    ("unavailable.body.unbranded", "Onboarding is not available right now. Please try again later.", "Registreringen är inte tillgänglig just nu. Försök igen senare."),
    ("notfound.title", "Link not found", "Länken hittades inte"),
    ("notfound.body", "This link is not valid. Ask {name} for a new one.", "Länken är inte giltig. Be {name} om en ny."),
    ("notfound.body.unbranded", "This link is not valid. Ask for a new one where you got it.", "Länken är inte giltig. Be om en ny där du fick den."),
    ("nostep.title", "This step does not exist", "Steget finns inte"),
    ("nostep.body", "The address may have been mistyped. Your session is still open.", "Adressen kan vara felskriven. Din session är fortfarande öppen."),
    ("nostep.link", "Continue where you left off", "Fortsätt där du slutade"),
    ("email.subject", "Set up payouts with {name}", "Kom igång med utbetalningar från {name}"),
    ("email.greeting", "Hello,", "Hej!"),
    ("email.body", "{name} uses Agora to pay out your money. Open the link below to give the details we need; it takes a few minutes.", "{name} använder Agora för att betala ut pengar till dig. Öppna länken nedan och fyll i de uppgifter vi behöver. Det tar några minuter."),
    ("email.body.unbranded", "Agora pays out your money. Open the link below to give the details we need; it takes a few minutes.", "Agora betalar ut pengar till dig. Öppna länken nedan och fyll i de uppgifter vi behöver. Det tar några minuter."),
    ("email.button", "Set up payouts", "Kom igång"),
    ("email.expiry", "The link works once and expires on {date} (UTC).", "Länken fungerar en gång och går ut {date} (UTC)."),
    ("email.ignore", "If you did not expect this email, you can ignore it.", "Om du inte väntade dig det här mejlet kan du bortse från det."),
    ("payout.paid.subject", "Your payout of {amount} {currency} is on its way", "Din utbetalning på {amount} {currency} är på väg"),
    ("payout.paid.body", "{name} has paid out {amount} {currency} to your bank account (payout {id}). Expect it by {date}.", "{name} har betalat ut {amount} {currency} till ditt bankkonto (utbetalning {id}). Pengarna är framme senast {date}."),
    ("payout.failed.subject", "Your payout of {amount} {currency} failed", "Din utbetalning på {amount} {currency} misslyckades"),
    ("payout.failed.body", "Your bank could not receive the payout {id} of {amount} {currency} ({code}). The money is back in your balance. Check or replace your bank account with {name} so that it can be paid again.", "Din bank kunde inte ta emot utbetalningen {id} på {amount} {currency} ({code}). Pengarna är tillbaka i ditt saldo. Kontrollera eller byt bankkonto hos {name} så att vi kan betala ut igen."),
    ("err.generic", "Check this value.", "Kontrollera värdet."),
    ("err.parameter_missing", "Enter this information.", "Fyll i uppgiften."),
    ("err.parameter_too_long", "This is too long.", "Texten är för lång."),
    ("err.invalid_id_number_checksum", "This identity number is not valid: check the digits.", "Personnumret är inte giltigt: kontrollera siffrorna."),
    ("err.invalid_id_number_format", "Enter the identity number in the format shown.", "Ange personnumret i formatet ÅÅÅÅMMDD-XXXX."),
    ("err.verification_failed_ssn_last_4_match", "The full Social Security number does not end in the last 4 digits given. Enter both again.", "Det fullständiga Social Security-numret slutar inte på de fyra sista siffror som angavs. Skriv in båda igen."),
    // One message for both fields (the summary lists it once): the stored number is never
    // shown back, so both are typed again.
    ("err.verification_failed_id_number_match", "The date of birth and the personal identity number point to different dates. Enter both again.", "Födelsedatumet och personnumret pekar på olika datum. Skriv in båda igen."),
    ("err.dob_id_number_match", "The date of birth and the personal identity number point to different dates. Enter both again.", "Födelsedatumet och personnumret pekar på olika datum. Skriv in båda igen."),
    ("err.ssn_last_4_match", "The full Social Security number does not end in the last 4 digits given. Enter both again.", "Det fullständiga Social Security-numret slutar inte på de fyra sista siffror som angavs. Skriv in båda igen."),
    ("err.invalid_dob_format", "Enter the date with day, month and year, as in the example.", "Ange datumet med dag, månad och år, som i exemplet."),
    ("err.no_such_date", "There is no {day} {month} {year}. Check the day and month.", "Det finns ingen {day} {month} {year}. Kontrollera dag och månad."),
    ("err.no_such_month", "There is no month {month}. Check the day and month.", "Det finns ingen månad {month}. Kontrollera dag och månad."),
    ("err.invalid_dob_age_under_minimum", "You must be 18 or older.", "Du måste vara minst 18 år."),
    ("err.invalid_dob_age_over_maximum", "Check the year of birth.", "Kontrollera födelseåret."),
    ("err.invalid_email", "Enter an email address like name@example.com.", "Ange en e-postadress som namn@example.se."),
    ("err.invalid_phone_number", "Enter the phone number with the country code, starting with +, as in the example.", "Ange telefonnumret med landsnummer, med + först, som i exemplet."),
    ("err.invalid_address_postal_code", "Enter a valid postal code.", "Ange ett giltigt postnummer."),
    ("err.invalid_url_format", "Enter the whole web address, with its ending such as .com, for example shop.example.com.", "Ange hela webbadressen, med slutet som .se eller .com, till exempel butik.example.se."),
    ("err.invalid_mcc", "Choose what you sell.", "Välj vad du säljer."),
    ("err.invalid_iban_checksum", "This IBAN is not valid: check the digits.", "IBAN-numret är inte giltigt: kontrollera siffrorna."),
    ("err.invalid_iban_format", "Enter an IBAN, starting with the country code.", "Ange ett IBAN som börjar med landskoden."),
    // {an_iban}: "A German IBAN" / "Ett IBAN från Tyskland" (iban_phrase).
    ("err.iban_length", "{an_iban} has {n} characters; this one has {m}. Check for a missing or extra character.", "{an_iban} har {n} tecken; det här har {m}. Kontrollera om ett tecken saknas eller är för mycket."),
    ("iban.from", "An IBAN from {country}", "Ett IBAN från {country}"),
    ("err.invalid_iban_country", "The bank account must be in your country.", "Bankkontot måste finnas i ditt land."),
    ("err.bank_account_exists", "This bank account is already added.", "Bankkontot är redan tillagt."),
    ("err.file_type_invalid", "Upload a PNG, JPEG or PDF file.", "Ladda upp en PNG-, JPEG- eller PDF-fil."),
    ("err.file_type_named", "{file} is not a PNG, JPEG or PDF. Choose the photo from your photo library, or take a screenshot of it.", "{file} är inte en PNG, JPEG eller PDF. Välj bilden från ditt bildbibliotek, eller ta en skärmbild av den."),
    ("err.file_too_large", "The file is larger than 10 MB.", "Filen är större än 10 MB."),
    ("err.invalid_tax_id_checksum", "This tax id is not valid: check the digits.", "Skatte-id:t är inte giltigt: kontrollera siffrorna."),
    ("err.invalid_tax_id_format", "Enter the tax id in its usual format (see the hint).", "Ange skatte-id:t i dess vanliga format (se tipset)."),
    ("err.invalid_ownership_percent", "Enter a share above 0 and at most 100.", "Ange en andel över 0 och högst 100."),
    ("err.invalid_ownership_total", "The shares add up to more than 100 %. Check the shares.", "Andelarna blir tillsammans mer än 100 %. Kontrollera andelarna."),
    ("err.ownership_total_sum", "The shares add up to {sum} %; together they can be at most 100 %.", "Andelarna blir tillsammans {sum} %; sammanlagt kan de vara högst 100 %."),
    ("err.terms_not_accepted", "Accept the terms to continue.", "Godkänn villkoren för att fortsätta."),
    // What an empty field says, named after its label key; in an owner's or director's row
    // followed by the row (`missing.row`).
    ("missing.row", "{message} ({group})", "{message} ({group})"),
    ("missing.business_type", "Choose the type of business", "Välj typ av verksamhet"),
    ("missing.business_profile.mcc", "Choose what you sell", "Välj vad du säljer"),
    ("missing.business_profile.url", "Enter your website address, or tick “I have no website”", "Fyll i webbplatsens adress, eller kryssa i ”Jag har ingen webbplats”"),
    ("missing.business_profile.product_description", "Describe what you sell", "Beskriv vad du säljer"),
    ("missing.first_name", "Enter the first name", "Fyll i förnamnet"),
    ("missing.last_name", "Enter the last name", "Fyll i efternamnet"),
    ("missing.email", "Enter the email address", "Fyll i e-postadressen"),
    ("missing.phone", "Enter the phone number", "Fyll i telefonnumret"),
    ("missing.dob", "Enter the date of birth", "Fyll i födelsedatumet"),
    ("missing.id_number", "Enter the national identity number", "Fyll i id-numret"),
    ("missing.id_number.se", "Enter the personal identity number", "Fyll i personnumret"),
    ("missing.ssn_last_4", "Enter the last 4 digits of the Social Security number", "Fyll i de fyra sista siffrorna"),
    ("missing.address.line1", "Enter the street address", "Fyll i gatuadressen"),
    ("missing.address.city", "Enter the city", "Fyll i orten"),
    ("missing.address.postal_code", "Enter the postal code", "Fyll i postnumret"),
    ("missing.address.state", "Enter the state", "Fyll i delstaten"),
    ("missing.company.name", "Enter the company name", "Fyll i företagsnamnet"),
    ("missing.company.tax_id", "Enter the company tax id", "Fyll i företagets skatte-id"),
    ("missing.company.tax_id.de", "Enter the VAT number (USt-IdNr.)", "Fyll i momsregistreringsnumret (USt-IdNr.)"),
    ("missing.company.registration_number", "Enter the trade register number", "Fyll i registreringsnumret"),
    ("missing.ownership_percent", "Enter the share owned", "Fyll i ägarandelen"),
    ("missing.owners_me_percent", "Enter your share", "Fyll i din ägarandel"),
    ("missing.iban", "Enter the IBAN", "Fyll i IBAN-numret"),
    ("missing.routing_number", "Enter the routing number", "Fyll i routingnumret"),
    ("missing.account_number", "Enter the account number", "Fyll i kontonumret"),
    ("missing.account_holder_name", "Enter the account holder's name", "Fyll i kontoinnehavarens namn"),
    ("missing.document", "Choose a file to upload", "Välj en fil att ladda upp"),
    ("missing.document.representative", "Choose a file to upload", "Välj en fil att ladda upp"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (key, en, sv) in STRINGS {
            assert!(seen.insert(*key), "duplicate key {key}");
            assert!(
                !en.is_empty() && !sv.is_empty(),
                "{key} lacks a translation"
            );
        }
    }

    #[test]
    fn unbranded_strings_never_say_agora_twice() {
        for locale in Locale::ALL {
            let tr = Tr(locale);
            for (key, _, _) in STRINGS {
                let text = tr.named(key, crate::infra::config::DEFAULT_BRANDING_NAME);
                assert!(
                    text.matches("Agora").count() <= 1,
                    "{key} ({locale:?}) unbranded: {text}"
                );
            }
        }
        let en = Tr(Locale::En);
        assert_eq!(
            en.named("terms.accept", "Bazaar"),
            "I accept Bazaar's terms of service"
        );
        assert_eq!(
            Tr(Locale::Sv).named("notfound.body", "Marknaden"),
            "Länken är inte giltig. Be Marknaden om en ny."
        );
        assert_eq!(
            en.named("terms.accept", "Agora"),
            "I accept Agora's terms of service"
        );
        assert_eq!(
            Tr(Locale::Sv).named("intro", "Marknaden"),
            "Marknaden använder Agora för att betala ut pengar till dig. Vi frågar bara efter det som lagen och bankerna kräver."
        );
        assert_eq!(Tr(Locale::Sv).s("powered"), "Drivs av Agora");
    }

    #[test]
    fn accept_language_picks_the_best_we_have() {
        assert_eq!(
            Locale::from_accept_language(Some("sv-SE,sv;q=0.9,en;q=0.8")),
            Locale::Sv
        );
        assert_eq!(
            Locale::from_accept_language(Some("de-DE,en;q=0.5,sv;q=0.7")),
            Locale::Sv
        );
        assert_eq!(
            Locale::from_accept_language(Some("en-GB,sv;q=0.1")),
            Locale::En
        );
        assert_eq!(Locale::from_accept_language(Some("fr")), Locale::En);
        assert_eq!(Locale::from_accept_language(None), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("sv;q=0")), Locale::En);
    }

    #[test]
    fn swedish_errors_never_fall_back_to_english() {
        let tr = Tr(Locale::Sv);
        assert_eq!(
            tr.error("no_such_code", "English text"),
            "Kontrollera värdet."
        );
        assert_eq!(
            Tr(Locale::En).error("no_such_code", "English text"),
            "English text"
        );
    }
}
