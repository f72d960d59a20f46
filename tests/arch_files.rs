//! Arch files: every file shipped in `arch/` and the spec's example parse and validate;
//! malformed files are refused at the exact line:column with a message that names the
//! key, what was found and what is allowed.

use std::path::Path;

use mltq::arch::Arch;
use mltq::scheme::{Scheme, Serial, Skip, SyncMode};
use mltq::ErrorKind;
use proptest::prelude::*;

fn arch_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/arch"))
}

fn load(name: &str) -> Arch {
    Arch::load(&arch_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn names(arch: &Arch) -> Vec<&str> {
    arch.schemes.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn every_shipped_arch_file_parses_and_validates() {
    let mut seen = 0;
    for entry in std::fs::read_dir(arch_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let arch = Arch::load(&path).unwrap_or_else(|e| panic!("{e}"));
            for s in &arch.schemes {
                s.validate().unwrap();
            }
            assert!(arch.array.total_lanes() > 0);
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "expected at least the four shipped arch files, found {seen}"
    );
}

#[test]
fn pe16_is_sixteen_cubed_lock_step_with_the_mlb_baseline() {
    let a = load("pe16.toml");
    assert_eq!(a.name, "pe16");
    assert_eq!(a.clock_ghz, 1.0);
    assert_eq!(
        (a.array.tiles, a.array.rows, a.array.columns, a.array.lanes),
        (16, 16, 16, 16)
    );
    assert_eq!(a.array.column_registers, 0);
    assert_eq!(
        names(&a),
        [
            "mlb",
            "mltq-word",
            "mltq-bit",
            "cnvlutin",
            "pragmatic",
            "laconic"
        ]
    );
    assert_eq!(a.baseline_scheme().name, "mlb");
    for s in &a.schemes {
        assert_eq!(
            *s,
            Scheme::preset(&s.name).unwrap(),
            "a preset is taken as the spec defines it"
        );
    }
}

#[test]
fn embedded_is_a_small_single_tile_array() {
    let a = load("embedded.toml");
    assert_eq!(
        (a.array.tiles, a.array.rows, a.array.columns, a.array.lanes),
        (1, 4, 4, 8)
    );
    assert_eq!(a.array.column_registers, 0);
    assert_eq!(a.baseline_scheme().name, "mlb");
    assert_eq!(names(&a), ["mlb", "mltq-word", "mltq-bit"]);
}

#[test]
fn dnnsim_uses_dnnsim_defaults_and_a_first_stage_zero_pragmatic() {
    let a = load("dnnsim.toml");
    assert_eq!(
        (a.array.tiles, a.array.rows, a.array.columns, a.array.lanes),
        (16, 16, 16, 16)
    );
    assert_eq!(a.array.column_registers, 0);
    assert_eq!(a.baseline_scheme().name, "dadiannao");
    for preset in ["dadiannao", "stripes", "cnvlutin", "pragmatic", "laconic"] {
        assert_eq!(
            a.scheme(preset),
            Scheme::preset(preset).as_ref(),
            "{preset}"
        );
    }
    let fs0 = a.scheme("pragmatic-fs0").expect("pragmatic-fs0 listed");
    let expected = Scheme {
        serial: Serial::Act,
        skip_act: Skip::Term,
        first_stage_bits: Some(0),
        ..Scheme::custom("pragmatic-fs0")
    };
    assert_eq!(*fs0, expected);
}

#[test]
fn pe16_registers_has_two_registers_and_a_four_plane_mlb() {
    let a = load("pe16-registers.toml");
    assert_eq!(a.array.column_registers, 2);
    let mlb4 = a.scheme("mlb-4").expect("mlb-4 listed");
    let expected = Scheme {
        planes_act: Some(4),
        planes_weight: Some(4),
        ..Scheme::preset("mlb").unwrap()
    };
    assert_eq!(mlb4.name, "mlb-4");
    assert_eq!(
        Scheme {
            name: "mlb".into(),
            ..mlb4.clone()
        },
        expected
    );
}

#[test]
fn the_spec_example_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/example.toml");
    let a = Arch::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.name, "example");
    assert_eq!(a.clock_ghz, 1.0, "clock_ghz defaults to 1.0");
    assert_eq!(
        (
            a.array.tiles,
            a.array.rows,
            a.array.columns,
            a.array.lanes,
            a.array.column_registers
        ),
        (2, 2, 3, 8, 1)
    );
    assert_eq!(a.schemes.len(), 10);
    assert_eq!(a.baseline, 0);
    let b1 = a.scheme("pragmatic-b1").unwrap();
    assert_eq!(
        (b1.serial, b1.skip_act, b1.first_stage_bits),
        (Serial::Act, Skip::Term, Some(1))
    );
    let booth = a.scheme("pragmatic-booth").unwrap();
    assert_eq!(booth.term_encoding, mltq::encoding::TermEncoding::Booth);
    assert_eq!(booth.first_stage_bits, None);
}

#[test]
fn custom_schemes_take_the_spec_defaults() {
    let a = Arch::parse(
        "name = \"d\"\nbaseline = \"plain\"\nschemes = [\"plain\"]\n[array]\ntiles = 1\nrows = 1\n\
         columns = 1\nlanes = 1\n[[scheme]]\nname = \"plain\"\n",
        "d.toml",
    )
    .unwrap();
    let s = &a.schemes[0];
    assert_eq!(*s, Scheme::custom("plain"));
    assert_eq!(
        (s.serial, s.skip_act, s.skip_weight, s.sync),
        (Serial::None, Skip::None, Skip::None, SyncMode::Step)
    );
    assert_eq!(s.min_cycles, 1);
}

#[test]
fn an_unlisted_custom_scheme_is_ignored_but_still_checked() {
    let base =
        "name = \"u\"\nbaseline = \"mlb\"\nschemes = [\"mlb\"]\n[array]\ntiles = 1\nrows = 1\n\
                columns = 1\nlanes = 1\n[[scheme]]\nname = \"spare\"\n";
    let a = Arch::parse(base, "u.toml").unwrap();
    assert_eq!(names(&a), ["mlb"]);
    let bad = format!("{base}skip_weight = \"term\"\n");
    let e = Arch::parse(&bad, "u.toml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("u.toml:11:15: [[scheme]] `spare`: skip_weight"),
        "{e}"
    );
}

/// Three lines of top-level keys, then a four-line [array] table:
///
/// ```text
/// 1 name = "t"
/// 2 baseline = "mlb"
/// 3 schemes = ["mlb", "mltq-bit"]
/// 4
/// 5 [array]
/// 6 tiles = 1
/// 7 rows = 2
/// 8 columns = 3
/// 9 lanes = 4
/// ```
const BASE: &str = "name = \"t\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"mltq-bit\"]\n\n\
                    [array]\ntiles = 1\nrows = 2\ncolumns = 3\nlanes = 4\n";

/// BASE followed by text starting on line 10.
fn base_then(more: &str) -> String {
    format!("{BASE}{more}")
}

/// BASE with one substring replaced (which must occur).
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

struct Bad {
    story: &'static str,
    text: String,
    /// "line:column".
    at: &'static str,
    /// Phrases the message must contain.
    says: &'static [&'static str],
}

fn malformed() -> Vec<Bad> {
    vec![
        Bad {
            story: "misspelt array key suggests columns",
            text: base_with("columns = 3", "colums = 3"),
            at: "8:1",
            says: &["unknown key `colums` in [array]", "(did you mean `columns`?)", "`column_registers`"],
        },
        Bad {
            story: "misspelt preset in schemes suggests mltq-bit",
            text: base_with("\"mltq-bit\"]", "\"mltq-bits\"]"),
            at: "3:19",
            says: &["unknown scheme `mltq-bits` in `schemes`", "(did you mean `mltq-bit`?)"],
        },
        Bad {
            story: "misspelt custom name in schemes suggests the custom scheme",
            text: base_with("\"mltq-bit\"]", "\"prag-b4\"]")
                + "\n[[scheme]]\nname = \"prag-b2\"\nserial = \"act\"\nskip_act = \"term\"\n",
            at: "3:19",
            says: &["unknown scheme `prag-b4`", "(did you mean `prag-b2`?)", "[[scheme]] table"],
        },
        Bad {
            story: "term skipping of a parallel operand",
            text: base_then("\n[[scheme]]\nname = \"x\"\nskip_act = \"term\"\n"),
            at: "13:12",
            says: &["[[scheme]] `x`", "skip_act = \"term\" needs a serial act operand"],
        },
        Bad {
            story: "first_stage_bits with window sync",
            text: base_then(
                "\n[[scheme]]\nname = \"x\"\nserial = \"act\"\nskip_act = \"term\"\nsync = \"window\"\n\
                 first_stage_bits = 2\n",
            ),
            at: "16:20",
            says: &["[[scheme]] `x`", "first_stage_bits needs sync = \"step\""],
        },
        Bad {
            story: "first_stage_bits with both operands serial",
            text: base_then(
                "\n[[scheme]]\nname = \"x\"\nserial = \"both\"\nskip_act = \"term\"\nfirst_stage_bits = 1\n",
            ),
            at: "15:20",
            says: &["first_stage_bits needs exactly one serial operand"],
        },
        Bad {
            story: "baseline not among the listed schemes",
            text: base_with("baseline = \"mlb\"", "baseline = \"stripes\""),
            at: "2:12",
            says: &["`baseline` = \"stripes\" is not one of `schemes` (mlb, mltq-bit)", "add `stripes` to `schemes`"],
        },
        Bad {
            story: "misspelt baseline suggests a listed scheme",
            text: base_with("baseline = \"mlb\"", "baseline = \"mbl\""),
            at: "2:12",
            says: &["is not one of `schemes`", "(did you mean `mlb`?)"],
        },
        Bad {
            story: "baseline that is no scheme at all suggests the preset",
            text: base_with("baseline = \"mlb\"", "baseline = \"stripe\""),
            at: "2:12",
            says: &[
                "`stripe` is not a scheme either (did you mean `stripes`?)",
                "list it in `schemes`",
            ],
        },
        Bad {
            story: "custom scheme shadowing a preset",
            text: base_then("\n[[scheme]]\nname = \"pragmatic\"\nserial = \"act\"\n"),
            at: "12:8",
            says: &["[[scheme]] name `pragmatic` is a preset", "may not shadow a preset"],
        },
        Bad {
            story: "scheme listed twice",
            text: base_with("[\"mlb\", \"mltq-bit\"]", "[\"mlb\", \"mlb\"]"),
            at: "3:19",
            says: &["scheme `mlb` is listed twice in `schemes`", "first at line 3, column 12"],
        },
        Bad {
            story: "custom scheme defined twice",
            text: base_then("\n[[scheme]]\nname = \"x\"\n\n[[scheme]]\nname = \"x\"\n"),
            at: "15:8",
            says: &["custom scheme `x` is defined twice", "first at line 12, column 8"],
        },
        Bad {
            story: "zero lanes",
            text: base_with("lanes = 4", "lanes = 0"),
            at: "9:9",
            says: &["`lanes` in [array] must be an integer >= 1, found 0"],
        },
        Bad {
            story: "negative column registers",
            text: base_then("column_registers = -1\n"),
            at: "10:20",
            says: &["`column_registers` in [array] must be an integer >= 0, found -1"],
        },
        Bad {
            story: "absurdly many tiles",
            text: base_with("tiles = 1", "tiles = 2000000"),
            at: "6:9",
            says: &["`tiles` in [array] = 2000000 is too large", "at most 1048576"],
        },
        Bad {
            story: "array with more than 2^32 multipliers",
            text: base_with("tiles = 1", "tiles = 1048576").replacen("rows = 2", "rows = 1048576", 1),
            at: "5:1",
            says: &["1048576 × 1048576 × 3 × 4 multipliers", "at most 4294967296"],
        },
        Bad {
            story: "integer beyond 64 bits",
            text: base_with("tiles = 1", "tiles = 99999999999999999999"),
            at: "6:9",
            says: &["`tiles` in [array]: integer 99999999999999999999 is out of range"],
        },
        Bad {
            story: "string where an integer belongs",
            text: base_with("lanes = 4", "lanes = \"4\""),
            at: "9:9",
            says: &["`lanes` in [array]: expected an integer, found a string (\"4\")"],
        },
        Bad {
            story: "float where an integer belongs",
            text: base_with("rows = 2", "rows = 2.5"),
            at: "7:8",
            says: &["`rows` in [array]: expected an integer, found a float (2.5)"],
        },
        Bad {
            story: "integer where a scheme setting belongs",
            text: base_then("\n[[scheme]]\nname = \"x\"\nsync = 1\n"),
            at: "13:8",
            says: &["`sync` in [[scheme]] `x`: expected a string, found an integer (1)"],
        },
        Bad {
            story: "integer in the list of schemes",
            text: base_with("\"mltq-bit\"]", "3]"),
            at: "3:19",
            says: &["entry 2 of `schemes`: expected a string, found an integer (3)"],
        },
        Bad {
            story: "missing array table",
            text: "name = \"t\"\nbaseline = \"mlb\"\nschemes = [\"mlb\"]\n".to_string(),
            at: "1:1",
            says: &["missing required key `array` at the top level", "add an [array] table"],
        },
        Bad {
            story: "missing lanes in the array table",
            text: base_with("lanes = 4\n", ""),
            at: "5:1",
            says: &["missing required key `lanes` in [array]"],
        },
        Bad {
            story: "missing name of a custom scheme",
            text: base_then("\n[[scheme]]\nserial = \"act\"\n"),
            at: "11:1",
            says: &["missing required key `name` in [[scheme]] number 1"],
        },
        Bad {
            story: "unknown top-level key",
            text: format!("colour = \"red\"\n{BASE}"),
            at: "1:1",
            says: &["unknown key `colour` at the top level", "allowed keys: `name`, `clock_ghz`"],
        },
        Bad {
            story: "misspelt top-level table suggests array",
            text: base_with("[array]", "[arrays]"),
            at: "5:2",
            says: &["unknown key `arrays` at the top level", "(did you mean `array`?)"],
        },
        Bad {
            story: "array key written at the top level",
            text: format!("lanes = 4\n{BASE}"),
            at: "1:1",
            says: &["unknown key `lanes` at the top level", "`lanes` belongs in the [array] table"],
        },
        Bad {
            story: "top-level key written after the array header",
            text: base_then("clock_ghz = 2.0\n"),
            at: "10:1",
            says: &["unknown key `clock_ghz` in [array]", "is a top-level key: write it above the first [table]"],
        },
        Bad {
            story: "misspelt scheme key suggests skip_act",
            text: base_then("\n[[scheme]]\nname = \"x\"\nskip_acts = \"word\"\n"),
            at: "13:1",
            says: &["unknown key `skip_acts` in [[scheme]] `x`", "(did you mean `skip_act`?)"],
        },
        Bad {
            story: "misspelt sync value suggests window",
            text: base_then("\n[[scheme]]\nname = \"x\"\nsync = \"windows\"\n"),
            at: "13:8",
            says: &["`sync` in [[scheme]] `x` = \"windows\" is not allowed", "(did you mean `window`?)", "allowed: \"step\", \"window\""],
        },
        Bad {
            story: "unknown term encoding",
            text: base_then("\n[[scheme]]\nname = \"x\"\nterm_encoding = \"csd\"\n"),
            at: "13:17",
            says: &["`term_encoding` in [[scheme]] `x` = \"csd\" is not allowed", "allowed: \"plain\", \"booth\", \"naf\""],
        },
        Bad {
            story: "min_cycles other than 0 or 1",
            text: base_then("\n[[scheme]]\nname = \"x\"\nmin_cycles = 2\n"),
            at: "13:14",
            says: &["`min_cycles` in [[scheme]] `x` must be 0 or 1, found 2"],
        },
        Bad {
            story: "zero planes override",
            text: base_then("\n[[scheme]]\nname = \"x\"\nserial = \"both\"\nplanes_act = 0\n"),
            at: "14:14",
            says: &["`planes_act` in [[scheme]] `x` must be an integer in 1..=32, found 0"],
        },
        Bad {
            story: "single brackets around a custom scheme",
            text: base_then("\n[scheme]\nname = \"x\"\n"),
            at: "11:1",
            says: &["`scheme`: expected an array, found a table", "write [[scheme]] (double brackets)"],
        },
        Bad {
            story: "zero clock",
            text: format!("clock_ghz = 0.0\n{BASE}"),
            at: "1:13",
            says: &["`clock_ghz` must be a finite number > 0 (GHz), found 0"],
        },
        Bad {
            story: "infinite clock",
            text: format!("clock_ghz = inf\n{BASE}"),
            at: "1:13",
            says: &["`clock_ghz` must be a finite number > 0", "found inf"],
        },
        Bad {
            story: "empty list of schemes",
            text: base_with("[\"mlb\", \"mltq-bit\"]", "[]"),
            at: "3:11",
            says: &["`schemes` is empty"],
        },
        Bad {
            story: "empty name",
            text: base_with("name = \"t\"", "name = \" \""),
            at: "1:8",
            says: &["`name` is empty"],
        },
        Bad {
            story: "unterminated string is a TOML syntax error",
            text: base_with("name = \"t\"", "name = \"t"),
            at: "1:10",
            says: &["invalid TOML"],
        },
        Bad {
            story: "duplicate key names the key",
            text: base_then("lanes = 8\n"),
            at: "10:1",
            says: &["invalid TOML: duplicate key `lanes`"],
        },
        Bad {
            story: "unlisted custom baseline",
            text: base_with("baseline = \"mlb\"", "baseline = \"spare\"")
                + "\n[[scheme]]\nname = \"spare\"\n",
            at: "2:12",
            says: &["`baseline` = \"spare\" is not one of `schemes`", "add `spare` to `schemes`"],
        },
    ]
}

#[test]
fn malformed_arch_files_are_refused_at_the_offending_key_or_value() {
    let cases = malformed();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let err = match Arch::parse(&case.text, "bad.toml") {
            Ok(_) => {
                failures.push(format!(
                    "{}: parsed, expected an error at {}",
                    case.story, case.at
                ));
                continue;
            }
            Err(e) => e,
        };
        let ErrorKind::Arch {
            path,
            line,
            column,
            msg,
        } = err.kind()
        else {
            failures.push(format!("{}: not an arch error: {err}", case.story));
            continue;
        };
        assert_eq!(path, "bad.toml");
        let at = format!("{line}:{column}");
        if at != case.at {
            failures.push(format!(
                "{}: at {at}, expected {}: {msg}",
                case.story, case.at
            ));
        }
        for phrase in case.says {
            if !msg.contains(phrase) {
                failures.push(format!("{}: message lacks {phrase:?}: {msg}", case.story));
            }
        }
        assert_eq!(err.to_string(), format!("bad.toml:{line}:{column}: {msg}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The shipped pe16 file, for mutation.
fn pe16_text() -> String {
    std::fs::read_to_string(arch_dir().join("pe16.toml")).unwrap()
}

fn check_no_panic(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Arch::parse(text, "fuzz.toml") {
        let ErrorKind::Arch { line, column, .. } = e.kind() else {
            return Err(TestCaseError::fail(format!("not an arch error: {e}")));
        };
        prop_assert!(*line >= 1 && *column >= 1);
        prop_assert!(
            *line <= text.lines().count() + 1,
            "line {line} past the end: {e}"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_text_is_parsed_or_refused_without_panicking(text in "[a-z_=\\[\\]\"'{}.,#0-9 \\n\\t\u{e9}-]{0,200}") {
        check_no_panic(&text)?;
    }

    #[test]
    fn mutated_arch_files_are_parsed_or_refused_without_panicking(
        cut in 0usize..2000,
        len in 0usize..8,
        insert in "[a-z0-9=\\[\\]\"\\n -]{0,6}",
    ) {
        let base = pe16_text();
        let mut start = cut.min(base.len());
        while !base.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let text = format!("{}{}{}", &base[..start], insert, &base[end..]);
        check_no_panic(&text)?;
    }
}
