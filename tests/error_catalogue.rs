//! The catalogue of errors a user can meet, each with its exact message pinned by an
//! insta snapshot (tests/snapshots/error_catalogue__*.snap): bad flags, missing files,
//! malformed models and arch files, model/arch mismatches, missing samples, unknown
//! built-in names, models too big for memory.
//!
//! Every case runs the real binary in a scratch directory (relative paths, so messages
//! read as a user would see them) and must exit 2 with `error` on stderr, no
//! `panicked`, and no file written. Review a changed message with `cargo insta review`
//! (or `INSTA_UPDATE=always cargo test --test error_catalogue` and `git diff`).

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{entries, example_arch, example_model, small_model};
use mltq::encoding::EncSpec;

/// A scratch directory holding the inputs of one case.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    /// The example model and arch as `m.mltq` and `a.toml`, and a `sub/` directory.
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.mltq"), example_model()).unwrap();
        std::fs::write(dir.path().join("a.toml"), example_arch()).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        Case { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Case {
        std::fs::write(self.path().join(name), bytes).unwrap();
        self
    }

    /// `m.mltq` with its header text edited: `from` → `to` (first match).
    fn model_edit(&self, from: &str, to: &str) -> &Case {
        let ex = example_model();
        let at = ex
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap_or_else(|| panic!("`{from}` is in the example"));
        let bytes = [&ex[..at], to.as_bytes(), &ex[at + from.len()..]].concat();
        self.write("m.mltq", bytes)
    }

    /// `m.mltq` with payload bytes overwritten at `off` (relative to the payload).
    fn payload_edit(&self, off: usize, bytes: &[u8]) -> &Case {
        let mut ex = example_model();
        let start = ex.windows(5).position(|w| w == b"\nend\n").unwrap() + 5;
        ex[start + off..start + off + bytes.len()].copy_from_slice(bytes);
        self.write("m.mltq", ex)
    }

    /// `a.toml` with its text edited: `from` → `to` (first match).
    fn arch_edit(&self, from: &str, to: &str) -> &Case {
        let text = example_arch();
        assert!(text.contains(from), "`{from}` is in the example arch");
        self.write("a.toml", text.replacen(from, to, 1))
    }

    /// Run `mltq ARGS` here; check the exit status, the stderr rules and that no file
    /// appeared; return stderr with the scratch path normalized.
    fn fails(&self, args: &[&str]) -> String {
        self.fails_with(args, &[])
    }

    fn fails_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let before = entries(self.path());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mltq"));
        cmd.current_dir(self.path())
            .env_remove("MLTQ_MAX_MEMORY")
            .env("NO_COLOR", "1")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "mltq {args:?}: {stderr}");
        assert!(stderr.contains("error"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(entries(self.path()), before, "no file is written: {stderr}");
        assert!(entries(&self.path().join("sub")).is_empty());
        let root = self.path().to_string_lossy().into_owned();
        stderr.replace(&root, "[TMP]")
    }
}

const SIM: [&str; 5] = ["simulate", "--arch", "a.toml", "--model", "m.mltq"];

fn sim<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    SIM.iter().copied().chain(extra.iter().copied()).collect()
}

macro_rules! case {
    ($name:ident, $stderr:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), $stderr);
        }
    };
}

// --- Flags -------------------------------------------------------------------------

case!(
    flag_misspelled,
    Case::new().fails(&sim(&["--cvs", "out.csv"]))
);
case!(
    flag_required_missing,
    Case::new().fails(&["simulate", "--model", "m.mltq"])
);
case!(
    flag_sample_not_a_number,
    Case::new().fails(&sim(&["--sample", "two"]))
);
case!(
    flag_seed_without_density,
    Case::new().fails(&sim(&["--seed", "3"]))
);
case!(
    flag_csv_stream_without_csv,
    Case::new().fails(&sim(&["--csv-stream"]))
);
case!(flag_subcommand_misspelled, Case::new().fails(&["simualte"]));
case!(
    gen_bad_encoding,
    Case::new().fails(&[
        "gen",
        "resnet20",
        "--out",
        "x.mltq",
        "--weights",
        "ternary:9"
    ])
);
case!(
    gen_density_out_of_range,
    Case::new().fails(&[
        "gen",
        "resnet20",
        "--out",
        "x.mltq",
        "--weight-density",
        "1.5"
    ])
);
case!(
    act_density_out_of_range,
    Case::new().fails(&sim(&["--act-density", "1.5", "--seed", "1"]))
);

// --- Files -------------------------------------------------------------------------

case!(
    arch_file_missing,
    Case::new().fails(&["simulate", "--arch", "nope.toml", "--model", "m.mltq"])
);
case!(
    model_file_missing,
    Case::new().fails(&["simulate", "--arch", "a.toml", "--model", "nope.mltq"])
);
case!(
    model_is_a_directory,
    Case::new().fails(&["simulate", "--arch", "a.toml", "--model", "sub"])
);
case!(
    output_directory_missing,
    Case::new().fails(&sim(&["--csv", "missing/out.csv"]))
);
case!(
    output_is_a_directory,
    Case::new().fails(&sim(&["--json", "sub"]))
);
case!(
    csv_and_json_same_file,
    Case::new().fails(&sim(&["--csv", "out", "--json", "out"]))
);
case!(
    gen_output_directory_missing,
    Case::new().fails(&["gen", "resnet20", "--out", "missing/r.mltq"])
);

// --- Malformed models ----------------------------------------------------------------

case!(
    model_not_mltq,
    Case::new().fails(&["simulate", "--arch", "a.toml", "--model", "a.toml"])
);
case!(
    model_version_2,
    Case::new().model_edit("MLTQ 1", "MLTQ 2").fails(&sim(&[]))
);
case!(
    model_crlf_line_endings,
    Case::new()
        .model_edit("network name=example\n", "network name=example\r\n")
        .fails(&sim(&[]))
);
case!(
    model_unknown_key_suggests,
    Case::new()
        .model_edit("pad=1,1", "padd=1,1")
        .fails(&sim(&[]))
);
case!(
    model_missing_required_key,
    Case::new().model_edit(" kernel=3,3", "").fails(&sim(&[]))
);
case!(
    model_repeated_key,
    Case::new()
        .model_edit("out=5 kernel=3,3", "out=5 out=5 kernel=3,3")
        .fails(&sim(&[]))
);
case!(
    model_conv_key_on_fc,
    Case::new()
        .model_edit("op=fc in=37 out=6", "op=fc in=37 out=6 stride=1,1")
        .fails(&sim(&[]))
);
case!(
    model_shape_mismatch,
    Case::new()
        .model_edit("shape=5,20,3,3", "shape=5,20,3,1")
        .fails(&sim(&[]))
);
case!(
    model_data_length,
    Case::new()
        .model_edit("data=0+480", "data=0+400")
        .fails(&sim(&[]))
);
case!(
    model_truncated,
    Case::new()
        .write("m.mltq", &example_model()[..1200])
        .fails(&sim(&[]))
);
case!(
    model_overlapping_ranges,
    Case::new()
        .model_edit("scales=480+8", "scales=470+8")
        .fails(&sim(&[]))
);
case!(
    model_duplicate_layer_name,
    Case::new()
        .model_edit("layer name=fc1", "layer name=conv1")
        .fails(&sim(&[]))
);
case!(
    model_unknown_layer,
    Case::new()
        .model_edit("weights layer=fc1", "weights layer=fc2")
        .fails(&sim(&[]))
);
case!(
    model_missing_end,
    Case::new()
        .model_edit("\nend\n", "\nedn\n")
        .fails(&sim(&[]))
);
case!(
    model_negative_without_nonzero,
    // conv1's level-0 negative plane starts at byte 120: set a bit the nonzero plane lacks.
    Case::new()
        .payload_edit(0, &[0; 8])
        .payload_edit(120, &[1])
        .fails(&sim(&[]))
);
case!(
    model_int_out_of_range,
    Case::new()
        .model_edit(
            "shape=20,5,4 enc=int bits=8 signed=false",
            "shape=20,5,4 enc=int bits=4 signed=false"
        )
        .fails(&sim(&[]))
);
case!(
    model_scale_not_finite,
    Case::new()
        .payload_edit(480, &f32::NAN.to_le_bytes())
        .fails(&sim(&[]))
);
case!(
    model_bits_past_the_end,
    // fc1's weights (222 elements) end in the 4th word: bit 63 of it is past the end.
    Case::new().payload_edit(888 + 31, &[0x80]).fails(&sim(&[]))
);

// --- Malformed arch files ---------------------------------------------------------------

case!(
    arch_invalid_toml,
    Case::new()
        .arch_edit("tiles = 2", "tiles = ")
        .fails(&sim(&[]))
);
case!(
    arch_unknown_key_suggests,
    Case::new()
        .arch_edit("columns = 3", "colums = 3")
        .fails(&sim(&[]))
);
case!(
    arch_missing_array,
    Case::new()
        .write(
            "a.toml",
            "name = \"x\"\nbaseline = \"mlb\"\nschemes = [\"mlb\"]\n"
        )
        .fails(&sim(&[]))
);
case!(
    arch_wrong_type,
    Case::new()
        .arch_edit("lanes = 8", "lanes = \"8\"")
        .fails(&sim(&[]))
);
case!(
    arch_negative_size,
    Case::new()
        .arch_edit("lanes = 8", "lanes = -8")
        .fails(&sim(&[]))
);
case!(
    arch_size_too_large,
    Case::new()
        .arch_edit("tiles = 2", "tiles = 2000000")
        .fails(&sim(&[]))
);
case!(
    arch_baseline_not_listed,
    Case::new()
        .arch_edit("baseline = \"mlb\"", "baseline = \"dadianao\"")
        .fails(&sim(&[]))
);
case!(
    arch_unknown_scheme_suggests,
    Case::new()
        .arch_edit(
            "\"mltq-bit\", \"dadiannao\"",
            "\"mltq-bitt\", \"dadiannao\""
        )
        .fails(&sim(&[]))
);
case!(
    arch_custom_shadows_preset,
    Case::new()
        .arch_edit("name = \"pragmatic-b1\"", "name = \"pragmatic\"")
        .fails(&sim(&[]))
);
case!(
    arch_term_skip_of_parallel_operand,
    Case::new()
        .arch_edit(
            "serial = \"act\"\nskip_act = \"term\"\nfirst_stage_bits = 1",
            "skip_act = \"term\""
        )
        .fails(&sim(&[]))
);
case!(
    arch_first_stage_with_window_sync,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nsync = \"window\""
        )
        .fails(&sim(&[]))
);
// Weight schedules (docs/weight-scheduling.md, section 1).
case!(
    arch_weight_schedule_with_window_sync,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\n\n[[scheme]]\nname = \"bt-window\"\nbase = \"mltq-word\"\n\
             weight_schedule = { shape = \"T\", lookahead = 2, lookaside = 5 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_bad_shape,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"t\", lookahead = 2, lookaside = 5 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_lookahead_zero,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"L\", lookahead = 0, lookaside = 5 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_lookaside_zero,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"L\", lookahead = 2, lookaside = 0 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_lookaside_too_wide,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"L\", lookahead = 2, lookaside = 8 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_missing_key,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"L\", lookahead = 2 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_weight_schedule_unknown_key,
    Case::new()
        .arch_edit(
            "first_stage_bits = 1",
            "first_stage_bits = 1\nweight_schedule = { shape = \"L\", lookahead = 2, lookside = 1 }"
        )
        .fails(&sim(&[]))
);
case!(
    arch_bittactical_preset_too_few_lanes,
    Case::new()
        .write(
            "a.toml",
            example_arch()
                .replacen("lanes = 8", "lanes = 3", 1)
                .replacen("\"laconic\",", "\"laconic\", \"bittactical\",", 1)
        )
        .fails(&sim(&[]))
);
case!(
    arch_scheme_listed_twice,
    Case::new()
        .arch_edit("\"stripes\", ", "\"stripes\", \"mlb\", ")
        .fails(&sim(&[]))
);
case!(
    arch_top_level_key_in_table,
    Case::new()
        .arch_edit(
            "column_registers = 1",
            "column_registers = 1\nclock_ghz = 2.0"
        )
        .fails(&sim(&[]))
);
case!(
    arch_single_bracket_scheme,
    Case::new()
        .write(
            "a.toml",
            "name = \"x\"\nbaseline = \"mlb\"\nschemes = [\"mlb\"]\n[array]\ntiles = 1\nrows = 1\n\
             columns = 1\nlanes = 1\n[scheme]\nname = \"y\"\n"
        )
        .fails(&sim(&[]))
);
case!(
    arch_not_utf8,
    Case::new()
        .write(
            "a.toml",
            [&b"name = \"p\xe9\"\n"[..], b"baseline = \"mlb\"\n"].concat()
        )
        .fails(&sim(&[]))
);
case!(
    arch_clock_not_positive,
    Case::new()
        .arch_edit("baseline", "clock_ghz = 0.0\nbaseline")
        .fails(&sim(&[]))
);

// --- Model and arch together, samples, names, memory -------------------------------------

case!(
    first_stage_bits_on_ternary_activations,
    Case::new()
        .write(
            "m.mltq",
            small_model(EncSpec::Ternary(2), EncSpec::Ternary(2), 1, 1)
        )
        .fails(&sim(&["--csv", "out.csv", "--json", "out.json"]))
);
case!(
    sample_missing,
    Case::new().fails(&sim(&["--sample", "3", "--csv", "out.csv"]))
);
case!(
    all_samples_without_activations,
    Case::new()
        .write(
            "m.mltq",
            small_model(EncSpec::Ternary(2), EncSpec::Ternary(2), 0, 1)
        )
        .fails(&sim(&["--all-samples"]))
);
case!(
    builtin_misspelled,
    Case::new().fails(&["simulate", "--arch", "a.toml", "--model", "resnet21"])
);
case!(
    gen_builtin_misspelled,
    Case::new().fails(&["gen", "mobilenet", "--out", "x.mltq"])
);
// `gen`'s value options: binary operands have no zeros; precisions per layer.
const GEN: [&str; 4] = ["gen", "resnet20", "--out", "x.mltq"];

fn gen<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    GEN.iter().copied().chain(extra.iter().copied()).collect()
}

case!(
    gen_binary_weights_pruned,
    Case::new().fails(&gen(&["--weights", "binary:2", "--weight-density", "0.2"]))
);
case!(
    gen_binary_acts_sparse,
    Case::new().fails(&gen(&["--acts", "binary:2", "--act-density", "0.3"]))
);
case!(
    gen_act_density_list_too_short,
    Case::new().fails(&gen(&["--act-density", "1,0.5,0.5"]))
);
case!(
    gen_act_density_list_bad_value,
    Case::new().fails(&gen(&["--act-density", "1,0.5,x"]))
);
case!(
    gen_precision_list_too_short,
    Case::new().fails(&gen(&["--acts", "int:16", "--act-precision", "9,8,5,5,7"]))
);
case!(
    gen_precision_list_bad_value,
    Case::new().fails(&gen(&["--acts", "int:16", "--act-precision", "9,0"]))
);
case!(
    gen_precision_of_ternary_acts,
    Case::new().fails(&gen(&["--act-precision", "8"]))
);
case!(
    gen_precision_above_the_width,
    Case::new().fails(&gen(&["--acts", "int:8", "--act-precision", "9"]))
);
case!(
    gen_signed_precision_of_one_bit,
    Case::new().fails(&gen(&["--weights", "int:8", "--weight-precision", "1"]))
);
case!(
    gen_precision_profile_unpublished,
    Case::new().fails(&gen(&[
        "--acts",
        "int:16",
        "--precision-profile",
        "stripes"
    ]))
);
case!(
    gen_precision_profile_misspelled,
    Case::new().fails(&[
        "gen",
        "alexnet",
        "--out",
        "x.mltq",
        "--acts",
        "int:16",
        "--precision-profile",
        "stripe"
    ])
);
case!(
    gen_profile_precision_without_int,
    Case::new().fails(&gen(&["--profile-precision"]))
);
case!(
    gen_tolerance_out_of_range,
    Case::new().fails(&gen(&[
        "--acts",
        "int:8",
        "--profile-precision",
        "--tolerance",
        "150%"
    ]))
);
case!(
    gen_precision_file_missing_layers,
    Case::new().write("p.txt", "conv1 8 -\n").fails(&gen(&[
        "--acts",
        "int:16",
        "--precision",
        "p.txt"
    ]))
);
case!(
    gen_weight_dist_misspelled,
    Case::new().fails(&gen(&["--weight-dist", "laplase"]))
);
case!(
    inspect_builtin_misspelled,
    Case::new().fails(&["inspect", "VGG-16"])
);
case!(
    model_larger_than_memory,
    Case::new().fails_with(&sim(&["--csv", "out.csv"]), &[("MLTQ_MAX_MEMORY", "2K")])
);
case!(
    gen_larger_than_memory,
    Case::new().fails_with(
        &["gen", "resnet50", "--samples", "1000", "--out", "r.mltq"],
        &[("MLTQ_MAX_MEMORY", "1G")]
    )
);
case!(
    memory_cap_unreadable,
    Case::new().fails_with(&sim(&[]), &[("MLTQ_MAX_MEMORY", "lots")])
);

// --- Cost model tables and keys -----------------------------------------------------

/// The example arch with `extra` appended (after its last [[scheme]] table).
fn cost_case(extra: &str) -> String {
    Case::new()
        .write("a.toml", format!("{}\n{extra}\n", example_arch()))
        .fails(&sim(&[]))
}

case!(
    cost_memory_unknown_key_suggests,
    cost_case("[memory]\nact_buffer_kb = 64")
);
case!(
    cost_memory_negative_buffer,
    cost_case("[memory]\nweight_buffer_kib = -1")
);
case!(
    cost_memory_zero_bandwidth,
    cost_case("[memory]\ndram_gbps = 0")
);
case!(cost_energy_nan, cost_case("[energy]\nadd_pj = nan"));
case!(
    cost_energy_infinite,
    cost_case("[energy]\nsram_pj_per_bit = inf")
);
case!(
    cost_area_negative,
    cost_case("[area]\nmult_um2_per_bit2 = -4.4")
);
case!(cost_area_string, cost_case("[area]\nadd_um2 = \"137\""));
case!(
    cost_scheme_base_not_a_preset,
    cost_case("[[scheme]]\nname = \"dadn-c1\"\nbase = \"pragmatic-b1\"")
);
case!(
    cost_scheme_store_misspelled,
    cost_case("[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\nstore_act = \"zcv\"")
);
case!(
    cost_scheme_lane_pj_negative,
    cost_case("[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\nlane_pj = -0.5")
);
case!(
    cost_scheme_array_unknown_key,
    cost_case("[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\n[scheme.array]\ncolums = 1")
);
case!(
    cost_scheme_array_zero,
    cost_case("[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\n[scheme.array]\nlanes = 0")
);
case!(
    cost_scheme_array_too_many_lanes,
    cost_case(
        "[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\n[scheme.array]\ntiles = 1048576\nrows = 1048576"
    )
);
case!(
    cost_scheme_key_in_the_wrong_table,
    cost_case("[[scheme]]\nname = \"w\"\nbase = \"mltq-word\"\ndram_gbps = 4")
);
