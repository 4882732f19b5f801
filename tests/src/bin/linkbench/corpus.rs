//! The records the link benchmark moves: activity records with Chinese summaries of 300–800
//! characters, generated from a seed so every run (and both methods) move the same content.
//!
//! The text is built from the most frequent Chinese characters, weighted by rank (Zipf), mixed
//! with the vocabulary of village party work, in clauses and sentences. It is not prose, but it
//! compresses about as real Chinese text does (zstd ≈ 2.5–3× on UTF-8), which is what matters
//! for bytes on a link: a corpus drawn from a few dozen words would compress far better than
//! anything a secretary writes, and flatter every method.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

/// Frequent characters, most frequent first.
const CHARS: &str =
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同\
工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都\
两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数\
正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程\
展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论\
运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争\
济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示\
议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影\
算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除\
消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包\
火住调满县局照参红细引听该铁价严龙飞";

/// Words of village party work.
const WORDS: &[&str] = &[
    "党员",
    "村民",
    "党支部",
    "支委会",
    "党员大会",
    "学习",
    "走访",
    "群众",
    "集体经济",
    "合作社",
    "乡村振兴",
    "产业发展",
    "茶叶",
    "道路硬化",
    "安全饮水",
    "医疗保险",
    "低保",
    "留守老人",
    "留守儿童",
    "返乡青年",
    "整改",
    "落实",
    "宣讲",
    "惠农政策",
    "技能培训",
    "村委会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议",
    "困难户",
    "外出务工",
    "种植",
    "养殖",
    "农田灌溉",
    "人居环境",
    "垃圾分类",
    "新时代文明实践",
    "志愿服务",
    "村规民约",
    "矛盾纠纷",
    "调解",
    "防汛",
    "森林防火",
    "村务公开",
    "财务公开",
    "基层治理",
    "网格员",
    "入户",
    "台账",
];

fn zipf_index(rng: &mut StdRng, n: usize) -> usize {
    // Rank r with probability ∝ 1/(r+2): inverse CDF of the continuous approximation.
    let u: f64 = rng.random();
    let (a, b) = (2.0f64, n as f64 + 2.0);
    let x = a * (b / a).powf(u) - a;
    (x as usize).min(n - 1)
}

/// Chinese text of exactly `len` characters (the last one a full stop).
pub fn text(rng: &mut StdRng, len: usize) -> String {
    let chars: Vec<char> = CHARS.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(len + 16);
    let mut clause = 0usize;
    let mut clause_len = rng.random_range(5..15);
    let mut clauses = 0usize;
    while out.len() + 1 < len {
        if rng.random_bool(0.3) {
            out.extend(WORDS[rng.random_range(0..WORDS.len())].chars());
            clause += 2;
        } else {
            for _ in 0..rng.random_range(1..=2) {
                out.push(chars[zipf_index(rng, chars.len())]);
                clause += 1;
            }
        }
        if clause >= clause_len {
            clauses += 1;
            let end = clauses >= 2 && rng.random_bool(0.4);
            out.push(if end { '。' } else { '，' });
            if end {
                clauses = 0;
            }
            clause = 0;
            clause_len = rng.random_range(5..15);
        }
    }
    out.truncate(len.saturating_sub(1));
    out.push('。');
    out.into_iter().collect()
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The `n`-th activity of a corpus seeded with `seed`: a summary of 300–800 characters.
pub fn activity(seed: u64, n: usize) -> Map<String, Value> {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(n as u64));
    let kinds = [
        "theme_party_day",
        "branch_committee_meeting",
        "party_group_meeting",
        "branch_member_meeting",
        "party_lecture",
        "household_visit",
        "collective_economy",
        "other",
    ];
    let kind = kinds[rng.random_range(0..kinds.len())];
    let date = format!(
        "{}-{:02}-{:02}",
        rng.random_range(2024..=2026),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    );
    let summary_len = rng.random_range(300..=800);
    let topic_len = rng.random_range(8..20);
    let mut m = obj(json!({
        "activity_kind": kind,
        "date": date,
        "topic": format!("{} {n}", text(&mut rng, topic_len)),
        "place": "村委会会议室",
        "summary": text(&mut rng, summary_len),
        "follow_ups": [{"text": text(&mut rng, 12), "done": false}],
        "other_attendees": rng.random_range(0..30),
        "duration_minutes": rng.random_range(30..180),
    }));
    match kind {
        "party_lecture" => {
            m.insert("lecturer".into(), json!("王老师"));
        }
        "household_visit" => {
            m.insert("household".into(), json!(format!("{} 号户", n % 300)));
        }
        _ => {}
    }
    m
}

/// The daily edit of record `id`: a sentence added to its summary, the place changed and the
/// follow-up marked done, as a secretary does after a visit. `summary` is the current one.
pub fn edit(seed: u64, n: usize, id: &str, summary: &str) -> Map<String, Value> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0000 ^ n as u64);
    let added = text(&mut rng, 40);
    obj(json!({
        "id": id,
        "place": format!("文化广场{}", n % 7),
        "summary": format!("{summary}{added}"),
        "follow_ups": [{"text": text(&mut rng, 12), "done": true}],
    }))
}
