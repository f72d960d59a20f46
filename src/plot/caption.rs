//! What a figure says about itself, beyond its data: the settings its rows share (the
//! `--filter`s, and every parameter that has one value in the rows drawn: network, arch,
//! array sizes, encodings, densities, seed, sample), written under the title; and which
//! of its series coincide (the same value at every x), drawn once under a legend entry
//! that names them all (`laconic = mltq-bit`) so that none is hidden behind another.

use super::table::{Filter, Table};

/// Columns of a sweep CSV that name a point, not a setting.
const POINT_COLUMNS: [&str; 2] = ["point", "point_id"];

/// Report columns that are settings of a run rather than results.
const SETTING_COLUMNS: [&str; 2] = ["network", "sample"];

/// Is `name` a setting column: a sweep parameter or a report column naming the run?
pub(super) fn is_setting(name: &str) -> bool {
    SETTING_COLUMNS.contains(&name)
        || (!crate::report::csv::is_report_column(name) && !POINT_COLUMNS.contains(&name))
}

/// The settings held fixed in the rows of `t`, as `col=value`, in column order: every
/// setting column with one value, and every `--filter` column (whatever it is) with one
/// value; then `extra` (known from elsewhere, e.g. the arch of `simulate --plot`).
pub(super) fn held_fixed(t: &Table, filters: &[Filter], extra: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (c, name) in t.columns.iter().enumerate() {
        let filtered = filters.iter().any(|f| f.column == *name);
        if !(filtered || is_setting(name)) || extra.iter().any(|(k, _)| k == name) {
            continue;
        }
        let values = t.distinct(c);
        match values.as_slice() {
            [v] if !v.is_empty() => out.push(format!("{name}={v}")),
            _ if filtered => {
                // Values equal as numbers but written differently (`0.5`, `0.50`).
                for f in filters.iter().filter(|f| f.column == *name) {
                    out.push(f.to_string());
                }
            }
            _ => {}
        }
    }
    out.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
    out
}

/// The setting columns that vary in the rows of `t`, with their number of values.
pub(super) fn varying(t: &Table) -> Vec<(String, usize)> {
    t.columns
        .iter()
        .enumerate()
        .filter(|(_, name)| is_setting(name))
        .map(|(c, name)| (name.clone(), t.distinct(c).len()))
        .filter(|(_, n)| *n > 1)
        .collect()
}

/// The line under a title that lists what was held fixed (empty if nothing was).
pub(super) fn fixed_line(fixed: &[String]) -> String {
    if fixed.is_empty() {
        String::new()
    } else {
        format!("held fixed: {}", fixed.join(", "))
    }
}

/// Group series that coincide: `keys[i]` is what series `i` draws (its values at every
/// x, in one canonical order); series with equal keys form one group, in order of their
/// first member. Returns the groups as lists of series indices.
pub(super) fn coinciding<K: PartialEq>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match groups.iter_mut().find(|g| keys[g[0]] == *k) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// The legend label of a group of coinciding series: `a = b = c`.
pub(super) fn same_label(names: &[&str]) -> String {
    names.join(" = ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            source: "t.csv".to_string(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn settings_with_one_value_and_filters_are_held_fixed() {
        let t = table(
            &[
                "point", "point_id", "arch", "weights", "seed", "network", "layer", "scheme",
                "speedup",
            ],
            &[
                &[
                    "0",
                    "p0",
                    "a.toml",
                    "ternary:1",
                    "1",
                    "r20",
                    "total",
                    "mlb",
                    "1",
                ],
                &[
                    "1",
                    "p1",
                    "a.toml",
                    "ternary:2",
                    "1",
                    "r20",
                    "total",
                    "mlb",
                    "1",
                ],
            ],
        );
        let f: Vec<Filter> = vec!["scheme=mlb".parse().unwrap()];
        assert_eq!(
            held_fixed(&t, &f, &[("array".into(), "1×2×3×4".into())]),
            [
                "arch=a.toml",
                "seed=1",
                "network=r20",
                "scheme=mlb",
                "array=1×2×3×4"
            ]
        );
        assert_eq!(varying(&t), [("weights".to_string(), 2)]);
        // A filter that matched numbers written two ways is shown as given.
        let t = table(
            &["weight_density", "layer"],
            &[&["0.5", "x"], &["0.50", "y"]],
        );
        let f: Vec<Filter> = vec!["weight_density=0.5".parse().unwrap()];
        assert_eq!(held_fixed(&t, &f, &[]), ["weight_density=0.5"]);
        assert_eq!(fixed_line(&[]), "");
    }

    #[test]
    fn equal_series_group_in_order_of_their_first_member() {
        let keys = [
            vec![1.0, 2.0],
            vec![3.0, 4.0],
            vec![1.0, 2.0],
            vec![3.0, 4.5],
        ];
        assert_eq!(coinciding(&keys), [vec![0, 2], vec![1], vec![3]]);
        assert_eq!(same_label(&["laconic", "mltq-bit"]), "laconic = mltq-bit");
    }
}
