//! Post bodies for the realtime benchmark: `plain` is the old fixed "Lorem ipsum" text;
//! `realistic` is a deterministic mix like real posts in a cohort (Norwegian text with æøå,
//! mentions of members and of people outside the cohort, e-mail addresses, links, Markdown, and
//! a few long posts), because the server's cost per post depends on what the post holds.

/// SplitMix64: a tiny generator whose output is fixed forever, so the same `--body-seed` gives
/// the same bodies in every round (an upgrade of the `rand` crate could change them).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0); the modulo bias is far below what a benchmark can see.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The body seed when `--body-seed` is not given.
pub const DEFAULT_BODY_SEED: u64 = 2027;

/// The most characters a post may have (Samling's `MAX_POST_CHARS`).
pub const MAX_POST_CHARS: usize = 20_000;

/// How often each feature appears, per mille of posts. Chosen so that about one post in three
/// holds an `@` (a mention or an address), as the issue describes real threads.
pub const MEMBER_MENTION_PER_MILLE: u64 = 200;
pub const OTHER_MENTION_PER_MILLE: u64 = 60;
pub const EMAIL_PER_MILLE: u64 = 100;
pub const LINK_PER_MILLE: u64 = 150;
pub const MARKDOWN_PER_MILLE: u64 = 300;
pub const LONG_PER_MILLE: u64 = 30;

/// The old benchmark body: `chars` characters of "Lorem ipsum".
pub fn plain_body(chars: usize) -> String {
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
        .chars()
        .cycle()
        .take(chars.max(1))
        .collect()
}

/// The body of post `k`: the same for the same seed, post number and member names, whatever
/// else the run does. `members` are the full names of the cohort's members (mentioned as
/// `@Full Name`); with none, member mentions name people outside the cohort instead.
pub fn realistic_body(seed: u64, k: u64, members: &[String]) -> String {
    // One stream per post, so a post's body does not depend on the posts before it.
    let mut rng = SplitMix64::new(seed ^ k.wrapping_mul(0xD1B5_4A32_D192_ED03));
    rng.next_u64();
    let long = rng.chance(LONG_PER_MILLE);
    let member_mention = rng.chance(MEMBER_MENTION_PER_MILLE);
    let other_mention = rng.chance(OTHER_MENTION_PER_MILLE);
    let email = rng.chance(EMAIL_PER_MILLE);
    let link = rng.chance(LINK_PER_MILLE);
    let markdown = rng.chance(MARKDOWN_PER_MILLE);

    let mut parts: Vec<String> = Vec::new();
    let opening = rng.below(3) + 1;
    for _ in 0..opening {
        parts.push(sentence(&mut rng, markdown));
    }
    if member_mention {
        let first = mention(&mut rng, members);
        parts.insert(
            rng.below(parts.len() + 1),
            match rng.below(4) {
                0 => format!("Takk, {first}!"),
                1 => format!("{first}, kan du sende meg tallene fra forrige måned?"),
                2 => format!("Jeg tror {first} har erfaring med akkurat dette."),
                _ => {
                    let second = mention(&mut rng, members);
                    format!("Hei {first} og {second}, vi tar dette videre på neste samling.")
                }
            },
        );
    }
    if other_mention {
        let name = rng.pick(OUTSIDERS);
        parts.push(match rng.below(2) {
            0 => format!("Vi har også spurt @{name} i fylkeskommunen."),
            _ => format!("@{name} holdt et godt innlegg om dette i fjor."),
        });
    }
    if email {
        let address = email_address(&mut rng, members);
        parts.push(match rng.below(3) {
            0 => format!("Send gjerne spørsmål til {address}."),
            1 => format!("Kontaktperson hos oss er {address}"),
            _ => format!("Skjemaet kan sendes til {address} innen fredag."),
        });
    }
    if link {
        let (title, url) = rng.pick(LINKS);
        parts.push(match rng.below(3) {
            0 => format!("Se {url}"),
            1 => format!("[{title}]({url}) er verdt å lese."),
            _ => format!("Mer om dette her: {url} (side 4–7)."),
        });
    }
    let mut body = parts.join(" ");
    if markdown {
        body.push_str("\n\n");
        body.push_str(&markdown_block(&mut rng));
    }
    if long {
        body.push_str("\n\n");
        long_text(&mut rng, &mut body);
    }
    body
}

/// `@Full Name` of one of the members, or of someone outside the cohort when there are none.
fn mention(rng: &mut SplitMix64, members: &[String]) -> String {
    if members.is_empty() {
        format!("@{}", rng.pick(OUTSIDERS))
    } else {
        format!("@{}", rng.pick(members))
    }
}

fn email_address(rng: &mut SplitMix64, members: &[String]) -> String {
    let local = match rng.below(3) {
        0 => "postmottak".to_string(),
        _ if !members.is_empty() => ascii_local_part(rng.pick::<String>(members)),
        _ => ascii_local_part(rng.pick::<&str>(OUTSIDERS)),
    };
    format!("{local}@{}", rng.pick(DOMAINS))
}

/// "Åse Sæther" → "aase.saether", as Norwegian addresses are written.
fn ascii_local_part(name: &str) -> String {
    let mut local = String::with_capacity(name.len() + 4);
    for c in name.to_lowercase().chars() {
        match c {
            'æ' => local.push_str("ae"),
            'ø' => local.push('o'),
            'å' => local.push_str("aa"),
            ' ' => local.push('.'),
            c if c.is_ascii_alphanumeric() || c == '-' => local.push(c),
            _ => {}
        }
    }
    local
}

/// A sentence of the programme's subjects; with `emphasis`, sometimes a word in bold or italics.
fn sentence(rng: &mut SplitMix64, emphasis: bool) -> String {
    let text = *rng.pick(SENTENCES);
    if !emphasis || !rng.chance(400) {
        return text.to_string();
    }
    let words: Vec<&str> = text.split(' ').collect();
    let at = rng.below(words.len());
    let mark = if rng.chance(500) { "**" } else { "_" };
    let mut out = String::with_capacity(text.len() + 4);
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        // Punctuation stays outside the emphasis, as people write it.
        let trimmed = word.trim_end_matches(['.', ',', '!', '?', ':']);
        if index == at && !trimmed.is_empty() {
            out.push_str(mark);
            out.push_str(trimmed);
            out.push_str(mark);
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

fn markdown_block(rng: &mut SplitMix64) -> String {
    match rng.below(4) {
        0 => {
            let mut block = String::from("Det vi har gjort så langt:\n\n");
            for _ in 0..rng.below(4) + 2 {
                block.push_str("- ");
                block.push_str(rng.pick::<&str>(LIST_ITEMS));
                block.push('\n');
            }
            block
        }
        1 => {
            let mut block = String::from("Forslag til neste steg:\n\n");
            for number in 1..=rng.below(3) + 2 {
                block.push_str(&format!("{number}. {}\n", rng.pick(LIST_ITEMS)));
            }
            block
        }
        2 => format!("> {}\n\nEnig i dette, **særlig** det første.", rng.pick(SENTENCES)),
        _ => {
            let (title, url) = rng.pick(LINKS);
            format!("Nyttig lesning: [{title}]({url}) og _{}_.", rng.pick(LIST_ITEMS))
        }
    }
}

/// Appends 2,000 to 6,000 characters: headings, paragraphs and lists, like a shared report.
fn long_text(rng: &mut SplitMix64, body: &mut String) {
    let target = body.chars().count() + 2_000 + rng.below(4_001);
    let mut section = 0;
    while body.chars().count() < target {
        section += 1;
        body.push_str(&format!("## {}\n\n", rng.pick(HEADINGS)));
        for _ in 0..rng.below(4) + 3 {
            body.push_str(rng.pick::<&str>(SENTENCES));
            body.push(' ');
        }
        body.push_str("\n\n");
        if section % 2 == 0 {
            for _ in 0..rng.below(3) + 2 {
                body.push_str("- ");
                body.push_str(rng.pick::<&str>(LIST_ITEMS));
                body.push('\n');
            }
            body.push('\n');
        }
    }
    let trimmed = body.trim_end().len();
    body.truncate(trimmed);
}

/// Names for servers with no seed (the bare servers), built like the seeded members' names.
pub fn stand_in_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            format!(
                "{} {}",
                STAND_IN_FIRST[i % STAND_IN_FIRST.len()],
                STAND_IN_LAST[(i / STAND_IN_FIRST.len()) % STAND_IN_LAST.len()]
            )
        })
        .collect()
}

const STAND_IN_FIRST: &[&str] = &[
    "Kari", "Bjørn", "Åse", "Håkon", "Sølvi", "Ørjan", "Ingrid", "Nils", "Marit", "Kåre",
];
const STAND_IN_LAST: &[&str] = &[
    "Hansen",
    "Sæther",
    "Løken",
    "Berg",
    "Grønli",
    "Haugen",
    "Ødegård",
    "Dahl",
    "Næss",
    "Lie",
];

/// People who are never seeded (their last names are not among the seed's), so a mention of
/// them names someone outside the cohort.
pub const OUTSIDERS: &[&str] = &[
    "Ola Nordmann",
    "Kari Nordmann",
    "Siv Tveitå",
    "Gunnar Ræstad",
    "Åshild Vågsbø",
    "Sverre Fjæreide",
    "Hilde Øvrebø",
    "Jostein Kråkenes",
];

const DOMAINS: &[&str] = &[
    "bergen.kommune.no",
    "baerum.kommune.no",
    "tromso.kommune.no",
    "vlfk.no",
    "gmail.com",
    "online.no",
];

const LINKS: &[(&str, &str)] = &[
    (
        "Veileder for matsvinn",
        "https://www.miljodirektoratet.no/ansvarsomrader/avfall/matsvinn/",
    ),
    ("Klimasats", "https://www.miljodirektoratet.no/klimasats"),
    (
        "KS om klimabudsjett",
        "https://www.ks.no/fagomrader/klima/klimabudsjett/",
    ),
    (
        "SSB: avfall fra husholdningene",
        "https://www.ssb.no/natur-og-miljo/avfall/statistikk/avfall-fra-hushald",
    ),
    (
        "Rapporten vår",
        "https://example.no/prosjekt/rapport.pdf?versjon=2&språk=nb#side-4",
    ),
    (
        "Ombruksguiden",
        "https://www.regjeringen.no/no/tema/klima-og-miljo/ombruk/id2883910/",
    ),
];

const SENTENCES: &[&str] = &[
    "Vi har målt matsvinnet i kantinene i fire uker nå.",
    "Første måling viste at nesten en tredjedel av maten ble kastet fra buffeten.",
    "Kjøkkenet på sykehjemmet har begynt å veie restemat hver dag.",
    "Hvordan har dere løst innkjøp av brukte møbler til skolene?",
    "Det er lurt å få med driftsavdelingen tidlig i prosjektet.",
    "Vi søkte om midler til ladepunkter, men fikk avslag i år.",
    "Kommunestyret vedtok klimabudsjettet før jul, med tolv nye tiltak.",
    "Jeg deler gjerne erfaringene våre på neste samling.",
    "Ærlig talt gikk det tregere enn vi håpet, særlig i høst.",
    "Øvelsen med ombruk av byggematerialer ga gode resultater.",
    "Ås kommune har laget en fin veileder om dette.",
    "Takk for godt innspill på møtet i går!",
    "Vi prøver mindre porsjoner fra neste uke og måler igjen etter påske.",
    "Tiltaket ble billigere enn beregnet, fordi transporten gikk ned.",
    "Er det noen som har erfaring med overvann og grønne tak?",
    "Prosjektgruppa møtes på tirsdager kl. 09.00 i rådhuset.",
    "Rapporten fra måleperioden ligger i mappen vår.",
    "Frivillige fra nærmiljøet hjelper til med reparasjonskafeen på lørdager.",
    "Vi har fått på plass en avtale med to butikker om restemat.",
    "Årsaken var at menyplanleggingen ikke tok høyde for skoleferiene.",
    "Barnehagene i bydelen er med fra januar, til sammen 14 avdelinger.",
    "Kostnaden var omtrent 45 000 kr, inkludert vekter og opplæring.",
    "Vi så at svinnet falt med 18 % etter at vi merket restene tydelig.",
    "Næringslivet i kommunen har vært overraskende positive.",
    "Det største hinderet er fortsatt tid til oppfølging i hverdagen.",
    "Kan noen dele malen for måleskjemaet?",
    "Vi har ikke fått svar fra fylket ennå, så vi venter litt.",
    "Jeg legger ut presentasjonen når den er ferdig — trolig før fredag.",
    "På skolene har elevrådet tatt ansvar for kampanjen selv.",
    "Neste steg er å se på anskaffelsene av tekstiler og arbeidsklær.",
];

const LIST_ITEMS: &[&str] = &[
    "veiing av restemat i alle kantinene",
    "mindre tallerkener på buffeten",
    "avtale om gjenbruk av møbler med skolene",
    "kurs for kjøkkenpersonalet i menyplanlegging",
    "felles innkjøpsavtale for ladepunkter",
    "kartlegging av myr og natur i arealplanen",
    "månedlig rapport til kommunedirektøren",
    "kampanje for husholdningene i samarbeid med butikkene",
    "ombruk av byggematerialer ved riving av gamle Sørbø skole",
    "måling før og etter, med samme skjema",
];

const HEADINGS: &[&str] = &[
    "Bakgrunn",
    "Hva vi målte",
    "Resultater så langt",
    "Erfaringer fra kjøkkenet",
    "Økonomi",
    "Utfordringer",
    "Veien videre",
    "Spørsmål til gruppa",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<String> {
        stand_in_names(50)
    }

    #[test]
    fn the_same_seed_and_post_give_the_same_body_and_another_seed_another() {
        let names = members();
        for k in 0..200 {
            assert_eq!(
                realistic_body(DEFAULT_BODY_SEED, k, &names),
                realistic_body(DEFAULT_BODY_SEED, k, &names)
            );
        }
        let differing = (0..200)
            .filter(|&k| realistic_body(DEFAULT_BODY_SEED, k, &names) != realistic_body(7, k, &names))
            .count();
        assert!(differing > 190, "only {differing} of 200 bodies changed with the seed");
    }

    #[test]
    fn the_generator_is_splitmix64_so_bodies_stay_fixed_across_rounds() {
        // The reference values of SplitMix64 from seed 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn about_a_third_of_posts_hold_an_at_sign_and_each_feature_appears_in_its_share() {
        let names = members();
        let bodies: Vec<String> = (0..20_000)
            .map(|k| realistic_body(DEFAULT_BODY_SEED, k, &names))
            .collect();
        let share =
            |test: &dyn Fn(&str) -> bool| bodies.iter().filter(|body| test(body)).count() as f64 / bodies.len() as f64;
        let at = share(&|body| body.contains('@'));
        assert!((0.29..0.37).contains(&at), "{at} of posts hold an @");
        let member = share(&|body| names.iter().any(|name| body.contains(&format!("@{name}"))));
        assert!((0.17..0.23).contains(&member), "{member} mention a member");
        let outsider = share(&|body| OUTSIDERS.iter().any(|name| body.contains(&format!("@{name}"))));
        assert!((0.04..0.08).contains(&outsider), "{outsider} mention someone outside");
        let address = share(&|body| DOMAINS.iter().any(|domain| body.contains(&format!("@{domain}"))));
        assert!((0.08..0.12).contains(&address), "{address} hold an e-mail address");
        let link = share(&|body| body.contains("https://"));
        assert!((0.15..0.40).contains(&link), "{link} hold a link");
        let markdown = share(&|body| body.contains("\n- ") || body.contains("\n1. ") || body.contains("\n> "));
        assert!((0.15..0.40).contains(&markdown), "{markdown} hold a Markdown block");
        let emphasis = share(&|body| body.contains("**") || body.contains(" _"));
        assert!(emphasis > 0.1, "{emphasis} hold emphasis");
        let norwegian = share(&|body| body.contains(['æ', 'ø', 'å', 'Æ', 'Ø', 'Å']));
        assert!(norwegian > 0.6, "{norwegian} hold æøå");
        let long = share(&|body| body.len() > 2_000);
        assert!((0.02..0.04).contains(&long), "{long} are long");
    }

    #[test]
    fn every_body_is_a_valid_post() {
        let names = members();
        for k in 0..20_000 {
            let body = realistic_body(DEFAULT_BODY_SEED, k, &names);
            let chars = body.chars().count();
            assert!(
                !body.trim().is_empty() && chars <= MAX_POST_CHARS,
                "post {k}: {chars} chars"
            );
            assert!(
                !body.chars().any(|c| c.is_control() && c != '\n'),
                "post {k} holds a control character"
            );
            if body.len() > 2_000 {
                assert!((2_000..=MAX_POST_CHARS).contains(&chars), "post {k}: {chars} chars");
            }
        }
    }

    #[test]
    fn mentions_use_the_full_names_given_and_addresses_are_ascii() {
        let names = vec!["Åse Sæther".to_string()];
        let with_mention = (0..2_000)
            .map(|k| realistic_body(1, k, &names))
            .find(|body| body.contains("@Åse Sæther"));
        assert!(with_mention.is_some());
        assert_eq!(ascii_local_part("Åse Sæther-Løken"), "aase.saether-loken");
        assert_eq!(
            stand_in_names(12)[11],
            format!("{} {}", STAND_IN_FIRST[1], STAND_IN_LAST[1])
        );
    }

    #[test]
    fn the_plain_body_is_the_old_lorem_ipsum() {
        assert_eq!(plain_body(11), "Lorem ipsum");
        assert_eq!(plain_body(0), "L");
    }
}
