//! Bit-Tactical's weight schedule (docs/weight-scheduling.md): before any cycle is
//! counted, each buffer set's weights (a filter set of `rows` filters, all its steps)
//! are rescheduled so that nonzero weights from later steps and neighbouring lanes fill
//! the slots of zero weights, and steps left with no weight at all are skipped.
//!
//! A schedule depends only on which weights are zero, the pattern and the array's rows
//! and lanes: a group builds it once per pattern ([`Shared`]) and every scheme with that
//! pattern reads it, in every window set. It is kept compactly: per (buffer set, step,
//! row) the lanes that were nonzero at first and the lanes that still hold their own
//! weight, plus the list of promotions (a weight moved to (t, l) from (t + Δt, l')).
//!
//! Costs. A PE's cost at a kept step is the max over its lanes of w·a, where a is the
//! activation of the step and lane the slot's weight came from. Over the rows of a
//! buffer set, the max only needs, per (Δt, lane of origin), the largest weight factor
//! of a slot holding a weight from there: an [`Entries`] brick per Δt present, laid out
//! so that brick Δt of kept step t meets the activation factors of step t + Δt at
//! `(t + Δt)·lanes`. With lock-step columns the max over columns is, as without a
//! schedule, the cost of the columns' maxima (costs are nondecreasing in the terms), so
//! a window set costs one pass over its entries; with column registers each column
//! costs its own. A call's cost is the max over the tiles of the pass of their kept
//! steps' costs. Pragmatic's first stage counts rounds per PE, so with
//! `first_stage_bits` each row of each buffer set is costed on its own.
//!
//! Four schedulers give the same schedule, the fastest that fits is used (`Kind`):
//! `batch` (64 rows at once, AVX-512), the 16-lane one (four rows in lock step,
//! SSE4.1), one on u64 lane masks with bit-sliced candidate counts, and one for any lane
//! count. `tests` at the end compare them with each other, and
//! tests/engine_reference.rs compares whole layers with the literal reference.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::columns::Units;
use super::first_stage::rounds;
use super::group::{brick_cost, Group, IDLE, PAD};
use super::operand::lut;
use super::{Family, Operands, ScheduleCounts, SchemeOps};
use crate::scheme::{Operand, WeightSchedule};

mod batch;

/// A pattern's offsets on one layer: (Δt, lane offset taken mod lanes), in the order
/// candidates are listed, each target once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// (Δt ≥ 1, dl in 0..lanes): slot (t, l)'s candidate is (t + Δt, (l + dl) mod lanes).
    pub offsets: Vec<(usize, usize)>,
    /// Per offset, the range of offsets with its Δt (they are sorted by Δt).
    pub groups: Vec<(usize, usize)>,
    /// h: how many zero lines in a row may be skipped.
    pub lookahead: usize,
    pub lanes: usize,
}

impl Pattern {
    /// The pattern of `ws` for a layer of `steps` steps on PEs of `lanes` lanes. Two
    /// offsets whose lane offsets are equal mod `lanes` name the same slot: the later
    /// one is dropped ("duplicates count once").
    pub fn new(ws: &WeightSchedule, lanes: usize, steps: usize) -> Pattern {
        let max_dt = u32::try_from(steps.saturating_sub(1)).unwrap_or(u32::MAX);
        let mut offsets: Vec<(usize, usize)> = Vec::new();
        for (dt, dl) in ws.offsets(max_dt) {
            let o = (dt as usize, dl.rem_euclid(lanes as i64) as usize);
            if !offsets.contains(&o) {
                offsets.push(o);
            }
        }
        let groups = offsets
            .iter()
            .map(|&(dt, _)| {
                (
                    offsets.partition_point(|o| o.0 < dt),
                    offsets.partition_point(|o| o.0 <= dt),
                )
            })
            .collect();
        Pattern {
            offsets,
            groups,
            lookahead: ws.lookahead as usize,
            lanes,
        }
    }

    /// The largest Δt of the pattern (0 when it has no offset).
    pub fn max_dt(&self) -> usize {
        self.offsets.iter().map(|o| o.0).max().unwrap_or(0)
    }
}

/// One promotion: the weight at (t + dt, row r, lane src) moved to (t, r, l) (kept
/// only when asked for, by tests: costs need only where weights came from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub t: u32,
    pub r: u32,
    pub l: u32,
    pub dt: u32,
    pub src: u32,
}

/// The schedule of one group: every buffer set, scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub rows: usize,
    pub steps: usize,
    pub lanes: usize,
    /// u64 words per lane mask: ⌈lanes/64⌉.
    pub words: usize,
    /// Buffer sets: ⌈Fg/rows⌉.
    pub sets: usize,
    /// Real rows (filters) of each set.
    pub real_rows: Vec<usize>,
    /// Per (set, step, row), at `((j·T + t)·rows + r)·words`: the lanes holding a
    /// nonzero weight before scheduling.
    pub orig: Vec<u64>,
    /// The same layout: the lanes whose slot still holds its own weight (neither moved
    /// out nor filled by a promotion).
    pub fixed: Vec<u64>,
    /// The largest Δt of the pattern: promotions per row are kept for Δt in 1..=dts.
    pub dts: usize,
    /// Per (set, step, row) i = (j·T + t)·rows + r and Δt, at `(i·dts + Δt − 1)·words`:
    /// the lanes of step t + Δt whose weights were promoted into that row at step t.
    pub moved: Vec<u64>,
    /// Weights moved, over every set.
    pub promoted: u64,
    /// Kept steps, per set in order.
    pub kept: Vec<u32>,
    /// `kept[kept_start[j]..kept_start[j + 1]]` are set j's.
    pub kept_start: Vec<usize>,
}

impl Schedule {
    /// Schedule every buffer set of `fg` filters whose weights are `terms` laid out
    /// `[f][t][lane]` (0 = a zero word), on `rows` rows, with pattern `pat`.
    pub fn new(terms: &[u8], fg: usize, steps: usize, rows: usize, pat: &Pattern) -> Schedule {
        let kind = Kind::best(pat);
        Schedule::build(terms, fg, steps, rows, pat, kind, None)
    }

    /// [`Schedule::new`], and per (step, lane) the zeros it leaves out
    /// ([`removed_sums`]) if the scheduler counted them on the way.
    fn new_counted(
        terms: &[u8],
        fg: usize,
        steps: usize,
        rows: usize,
        pat: &Pattern,
    ) -> (Schedule, Option<Vec<u64>>) {
        match Kind::best(pat) {
            Kind::Batch64 => {
                let (s, sums) = batch::build(terms, fg, steps, rows, pat);
                (s, Some(sums))
            }
            kind => (
                Schedule::build(terms, fg, steps, rows, pat, kind, None),
                None,
            ),
        }
    }

    /// [`Schedule::new`] with the scheduler `kind`, and every promotion logged in
    /// `moves` if given.
    fn build(
        terms: &[u8],
        fg: usize,
        steps: usize,
        rows: usize,
        pat: &Pattern,
        kind: Kind,
        mut moves: Option<&mut Vec<Move>>,
    ) -> Schedule {
        if kind == Kind::Batch64 {
            if moves.is_none() {
                return batch::build(terms, fg, steps, rows, pat).0;
            }
            // The 64-row scheduler logs no promotions: the 16-lane one makes the same.
            return Schedule::build(terms, fg, steps, rows, pat, Kind::Sixteen, moves);
        }
        let lanes = pat.lanes;
        let words = lanes.div_ceil(64);
        let sets = fg.div_ceil(rows);
        let mut orig = vec![0u64; sets * steps * rows * words];
        for f in 0..fg {
            let (j, r) = (f / rows, f % rows);
            for t in 0..steps {
                let brick = &terms[(f * steps + t) * lanes..][..lanes];
                let at = ((j * steps + t) * rows + r) * words;
                nonzero_mask(brick, &mut orig[at..at + words]);
            }
        }
        let mut cur = orig.clone();
        let mut fixed = vec![0u64; orig.len()];
        for m in fixed.chunks_exact_mut(words) {
            set_all(m, lanes);
        }
        let dts = pat.max_dt();
        let mut moved = vec![0u64; orig.len() * dts];
        let mut promoted = 0;
        let mut kept = Vec::new();
        let mut kept_start = vec![0];
        let per_set = steps * rows * words;
        #[cfg(target_arch = "x86_64")]
        let kill = (kind == Kind::Sixteen).then(|| Box::new(Kill::new(pat)));
        for j in 0..sets {
            let range = j * per_set..(j + 1) * per_set;
            Buffer {
                cur: &mut cur[range.clone()],
                fixed: &mut fixed[range.clone()],
                rows,
                steps,
                words,
                pat,
                moved: &mut moved[range.start * dts..range.end * dts],
                dts,
                promoted: &mut promoted,
                moves: moves.as_deref_mut(),
            }
            .schedule(
                kind,
                #[cfg(target_arch = "x86_64")]
                kill.as_deref(),
            );
            // Section 5's walk.
            let mut z = ZeroRun::default();
            for t in 0..steps {
                let step = &cur[j * per_set + t * rows * words..][..rows * words];
                if !z.skips(pat.lookahead, step) {
                    kept.push(t as u32);
                }
            }
            kept_start.push(kept.len());
        }
        Schedule {
            rows,
            steps,
            lanes,
            words,
            sets,
            real_rows: (0..sets).map(|j| (fg - j * rows).min(rows)).collect(),
            orig,
            fixed,
            dts,
            moved,
            promoted,
            kept,
            kept_start,
        }
    }

    /// Kept steps of set j.
    pub fn kept(&self, j: usize) -> &[u32] {
        &self.kept[self.kept_start[j]..self.kept_start[j + 1]]
    }

    /// Weights moved, over every set.
    pub fn promoted(&self) -> u64 {
        self.promoted
    }

    /// Index of (set j, step t, row r) in the per-row tables (times `words` in the
    /// masks).
    fn row(&self, j: usize, t: usize, r: usize) -> usize {
        (j * self.steps + t) * self.rows + r
    }

    /// Words of the mask at (set j, step t, row r).
    pub(super) fn at(&self, j: usize, t: usize, r: usize) -> usize {
        self.row(j, t, r) * self.words
    }

    /// The promotions into (set j, step t, row r): (Δt, lanes of step t + Δt).
    pub fn into(&self, j: usize, t: usize, r: usize) -> impl Iterator<Item = (usize, &[u64])> {
        let (i, w) = (self.row(j, t, r), self.words);
        self.moved[i * self.dts * w..(i + 1) * self.dts * w]
            .chunks_exact(w)
            .enumerate()
            .filter(|(_, m)| m.iter().any(|&x| x != 0))
            .map(|(d, m)| (d + 1, m))
    }

    /// Calls of pass p: the most kept steps of its tiles' sets.
    pub fn calls(&self, p: usize, tiles: usize) -> usize {
        self.pass_sets(p, tiles)
            .map(|j| self.kept(j).len())
            .max()
            .unwrap_or(0)
    }

    /// The buffer sets of pass p (one per tile, the last pass maybe fewer).
    pub fn pass_sets(&self, p: usize, tiles: usize) -> std::ops::Range<usize> {
        (p * tiles).min(self.sets)..((p + 1) * tiles).min(self.sets)
    }
}

/// The zero lines met in a row, as sections 4 and 5 walk a buffer set's steps: a zero
/// line is left as it is (skipped) while fewer than h in a row were; any other step
/// ends the run.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ZeroRun(usize);

impl ZeroRun {
    /// Whether the step whose masks are `masks` is skipped under lookahead `h`; the run
    /// goes on if it is and starts again if not.
    pub(super) fn skips<M: Copy + Default + PartialEq>(&mut self, h: usize, masks: &[M]) -> bool {
        if self.0 < h && masks.iter().all(|&m| m == M::default()) {
            self.0 += 1;
            true
        } else {
            self.0 = 0;
            false
        }
    }
}

/// Which scheduler runs a buffer set (all three give the same schedule; tests check).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// 16 lanes, at most 8 offsets and Δt ≤ 4 on x86-64 with AVX-512 (BW, VBMI,
    /// BITALG) and GFNI: 64 rows of every buffer set at once ([`batch`]).
    Batch64,
    /// 16 lanes and at most 8 offsets on x86-64 with SSE4.1: per-lane candidate sets
    /// as bytes, several rows at once.
    Sixteen,
    /// Up to 64 lanes and 255 offsets: bit-sliced counts.
    Sliced,
    /// Any size: per-lane counts.
    Wide,
}

impl Kind {
    /// The fastest that fits `pat`.
    fn best(pat: &Pattern) -> Kind {
        let (lanes, offsets) = (pat.lanes, pat.offsets.len());
        if batch::fits(pat) && batch::available() {
            Kind::Batch64
        } else if lanes == 16 && offsets <= 8 && has_sse41() {
            Kind::Sixteen
        } else if lanes <= 64 && offsets < 256 {
            Kind::Sliced
        } else {
            Kind::Wide
        }
    }
}

/// The first (at most 8) offsets usable at a step, as the 16-lane scheduler reads
/// them: Δt and lane offset.
#[derive(Clone, Copy, Debug)]
struct Tab {
    n: usize,
    dt: [usize; 8],
    dl: [usize; 8],
    /// The largest Δt of the n.
    max_dt: usize,
}

impl Tab {
    fn new(pat: &Pattern, n: usize) -> Tab {
        let mut tab = Tab {
            n,
            dt: [0; 8],
            dl: [0; 8],
            max_dt: 0,
        };
        for k in 0..n {
            (tab.dt[k], tab.dl[k]) = pat.offsets[k];
            tab.max_dt = tab.max_dt.max(tab.dt[k]);
        }
        tab
    }
}

/// The 16-lane scheduler's tables. A promotion is named by one byte `l << 4 | k`: slot
/// l takes its candidate k. `kill[b]` is what it clears in the candidate bytes: all of
/// byte l (the slot filled) and the bit of every slot that had the moved weight as a
/// candidate (bit k2 of byte src − dl[k2] for each offset k2 with k's Δt, the weight
/// being at lane src = l + dl[k]); `src[b]` is that lane.
#[cfg(target_arch = "x86_64")]
struct Kill {
    kill: [std::arch::x86_64::__m128i; 256],
    src: [u8; 256],
    /// Δt − 1 of the offset (below 8: the pattern has at most 8 offsets, among them
    /// (1, 0) … (h, 0)).
    dt: [u8; 256],
}

#[cfg(target_arch = "x86_64")]
impl Kill {
    /// For the first (at most 8) offsets of `pat` on 16 lanes. The offsets with one Δt
    /// are usable together or not at all, so the table serves every step.
    fn new(pat: &Pattern) -> Kill {
        use std::arch::x86_64::*;
        let n = pat.offsets.len().min(8);
        let (mut src, mut dt) = ([0u8; 256], [0u8; 256]);
        let kill = std::array::from_fn(|b| {
            let (l, k) = (b >> 4, b & 15);
            let mut x = [0u8; 16];
            if k < n {
                let s = (l + pat.offsets[k].1) % 16;
                src[b] = s as u8;
                dt[b] = (pat.offsets[k].0 - 1) as u8;
                let (g0, g1) = pat.groups[k];
                for k2 in g0..g1.min(n) {
                    x[(s + 16 - pat.offsets[k2].1) % 16] |= 1 << k2;
                }
                x[l] = 0xff;
            }
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `x`.
            unsafe { _mm_loadu_si128(x.as_ptr().cast()) }
        });
        Kill { kill, src, dt }
    }
}

/// Whether this CPU runs the 16-lane scheduler (SSSE3's byte shuffles and SSE4.1's
/// `phminposuw`).
fn has_sse41() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("ssse3")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The 8×8 bit matrix with row i in byte i, transposed (bit j of byte i → bit i of
/// byte j).
#[inline]
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00aa_00aa_00aa_00aa;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_cccc_0000_cccc;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_f0f0_f0f0;
    x ^ t ^ (t << 28)
}

/// Per lane, whether the byte is nonzero, into `out` (⌈lanes/64⌉ words).
fn nonzero_mask(brick: &[u8], out: &mut [u64]) {
    if let Ok(b) = <&[u8; 16]>::try_from(brick) {
        // 16 lanes: a shape the compiler turns into a compare and a movemask.
        let mut m = 0u64;
        for (l, &x) in b.iter().enumerate() {
            m |= ((x != 0) as u64) << l;
        }
        out[0] = m;
        return;
    }
    out.fill(0);
    for (l, &x) in brick.iter().enumerate() {
        out[l / 64] |= ((x != 0) as u64) << (l % 64);
    }
}

fn set_all(m: &mut [u64], lanes: usize) {
    for (w, x) in m.iter_mut().enumerate() {
        let n = lanes.saturating_sub(w * 64).min(64);
        *x = if n == 64 { !0 } else { (1u64 << n) - 1 };
    }
}

#[inline]
fn bit(m: &[u64], l: usize) -> bool {
    m[l / 64] >> (l % 64) & 1 == 1
}

/// One buffer set being scheduled: masks `[t][r][words]`.
struct Buffer<'b> {
    cur: &'b mut [u64],
    fixed: &'b mut [u64],
    rows: usize,
    steps: usize,
    words: usize,
    pat: &'b Pattern,
    /// Per (step, row) and Δt: the lanes of step t + Δt promoted into it.
    moved: &'b mut [u64],
    dts: usize,
    promoted: &'b mut u64,
    moves: Option<&'b mut Vec<Move>>,
}

impl Buffer<'_> {
    /// Section 4, every step in order, every row of each.
    fn schedule(&mut self, kind: Kind, #[cfg(target_arch = "x86_64")] kill: Option<&Kill>) {
        let mut z = ZeroRun::default();
        let mut count = vec![
            0usize;
            if kind == Kind::Wide {
                self.pat.lanes
            } else {
                0
            }
        ];
        let mut cand = vec![0u64; self.pat.offsets.len()];
        for t in 0..self.steps {
            let n = if self.skip(t, &mut z) {
                0
            } else {
                self.usable(t)
            };
            #[cfg(target_arch = "x86_64")]
            if kind == Kind::Sixteen && n > 0 {
                let tab = Tab::new(self.pat, n.min(8));
                // SAFETY: Kind::Sixteen is chosen only where SSE4.1 and SSSE3 run.
                unsafe { self.step_16(t, &tab, kill.expect("built for Sixteen")) };
                continue;
            }
            for r in 0..self.rows {
                if n > 0 {
                    match kind {
                        Kind::Batch64 | Kind::Sixteen => self.row_narrow(t, r, n, &mut cand),
                        Kind::Sliced => self.row_narrow(t, r, n, &mut cand),
                        Kind::Wide => self.row_wide(t, r, n, &mut count),
                    }
                }
            }
        }
    }

    /// Section 4's step 1: is step t a zero line the schedule leaves as it is?
    fn skip(&self, t: usize, z: &mut ZeroRun) -> bool {
        let w = self.rows * self.words;
        z.skips(self.pat.lookahead, &self.cur[t * w..(t + 1) * w])
    }

    /// The offsets usable at step t (those staying within the steps): a prefix, as
    /// they are sorted by Δt.
    fn usable(&self, t: usize) -> usize {
        self.pat
            .offsets
            .partition_point(|&(dt, _)| t + dt < self.steps)
    }

    /// [`Buffer::promote`] with lane masks of one word.
    #[inline(always)]
    fn promote1(&mut self, t: usize, r: usize, l: usize, dt: usize, src: usize) {
        let (here, from) = (t * self.rows + r, (t + dt) * self.rows + r);
        self.cur[from] &= !(1 << src);
        self.fixed[from] &= !(1 << src);
        self.cur[here] |= 1 << l;
        self.fixed[here] &= !(1 << l);
        self.moved[here * self.dts + dt - 1] |= 1 << src;
        *self.promoted += 1;
        if let Some(m) = self.moves.as_deref_mut() {
            m.push(Move {
                t: t as u32,
                r: r as u32,
                l: l as u32,
                dt: dt as u32,
                src: src as u32,
            });
        }
    }

    /// Swap the zero slot (t, r, l) with the weight at (t + dt, r, src).
    #[inline]
    fn promote(&mut self, t: usize, r: usize, l: usize, dt: usize, src: usize) {
        let w = self.words;
        let (here, from) = ((t * self.rows + r) * w, ((t + dt) * self.rows + r) * w);
        self.cur[from + src / 64] &= !(1 << (src % 64));
        self.fixed[from + src / 64] &= !(1 << (src % 64));
        self.cur[here + l / 64] |= 1 << (l % 64);
        self.fixed[here + l / 64] &= !(1 << (l % 64));
        self.moved[(here / w * self.dts + dt - 1) * w + src / 64] |= 1 << (src % 64);
        *self.promoted += 1;
        if let Some(m) = self.moves.as_deref_mut() {
            m.push(Move {
                t: t as u32,
                r: r as u32,
                l: l as u32,
                dt: dt as u32,
                src: src as u32,
            });
        }
    }

    /// Every row of step t on 16 lanes with at most 8 offsets, `R` rows at a time in
    /// lock step (their greedy runs are independent, so the CPU overlaps them), with no
    /// branch per promotion. A row's zero slots' candidate sets are the 16 bytes of one
    /// SSE register (bit k of byte l: slot l's offset k holds a weight), the per-offset
    /// lane masks transposed eight lanes at a time as 8×8 bit matrices. Per promotion,
    /// each byte gets a 16-bit key, (15 − its popcount) · 256 + l · 16 + its lowest
    /// bit's index (nibble table lookups), and one `phminposuw` finds the least: the
    /// lowest slot with the most candidates and its first candidate. One AND-NOT
    /// ([`Kill`]) clears the slot and the bit of every slot that had the moved weight as
    /// a candidate. A row with no candidate left has no byte set, so its key says so and
    /// its further AND-NOTs change nothing. The slots filled and emptied are gathered as
    /// masks and written once per row, rows in order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.1,ssse3")]
    unsafe fn step_16(&mut self, t: usize, tab: &Tab, kill: &Kill) {
        use std::arch::x86_64::*;
        const R: usize = 4;
        let rows = self.rows;
        let n = tab.n;
        let lo4 = _mm_set1_epi8(0x0f);
        // Popcount of a nibble; index of the one set bit of a nibble (low, high half).
        let pop = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        let log_lo = _mm_setr_epi8(0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0);
        let log_hi = _mm_setr_epi8(0, 4, 5, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0);
        let lane4 = _mm_setr_epi8(
            0, 16, 32, 48, 64, 80, 96, 112, -128, -112, -96, -80, -64, -48, -32, -16,
        );
        let mut logs: Vec<Vec<Move>> = Vec::new();
        if self.moves.is_some() {
            logs.resize(R, Vec::new());
        }
        let mut r0 = 0;
        while r0 < rows {
            let nr = (rows - r0).min(R);
            // Per row: the candidate bytes; the lanes whose weights moved, per offset;
            // the slots filled.
            let mut ck = [_mm_setzero_si128(); R];
            let mut moved = [[0u16; 8]; R];
            let mut dst = [0u16; R];
            let mut live = false;
            for (i, ck) in ck.iter_mut().enumerate().take(nr) {
                let r = r0 + i;
                let zt = !self.cur[t * rows + r] & 0xffff;
                if zt == 0 {
                    continue;
                }
                // Byte k of lo (hi): offset k's candidate bits of lanes 0..8 (8..16).
                let (mut lo, mut hi) = (0u64, 0u64);
                for k in 0..n {
                    let m = self.cur[(t + tab.dt[k]) * rows + r];
                    let dl = tab.dl[k];
                    let c = if dl == 0 {
                        m
                    } else {
                        ((m >> dl) | (m << (16 - dl))) & 0xffff
                    } & zt;
                    lo |= (c & 0xff) << (8 * k);
                    hi |= (c >> 8) << (8 * k);
                }
                live |= lo | hi != 0;
                *ck = _mm_set_epi64x(transpose8(hi) as i64, transpose8(lo) as i64);
            }
            while live {
                live = false;
                for i in 0..R {
                    let x = ck[i];
                    let cnt = _mm_add_epi8(
                        _mm_shuffle_epi8(pop, _mm_and_si128(x, lo4)),
                        _mm_shuffle_epi8(pop, _mm_and_si128(_mm_srli_epi16(x, 4), lo4)),
                    );
                    let low = _mm_and_si128(x, _mm_sub_epi8(_mm_setzero_si128(), x));
                    let k = _mm_or_si128(
                        _mm_shuffle_epi8(log_lo, _mm_and_si128(low, lo4)),
                        _mm_shuffle_epi8(log_hi, _mm_and_si128(_mm_srli_epi16(low, 4), lo4)),
                    );
                    let lk = _mm_or_si128(k, lane4);
                    let inv = _mm_xor_si128(cnt, lo4);
                    let key = _mm_minpos_epu16(_mm_min_epu16(
                        _mm_unpacklo_epi8(lk, inv),
                        _mm_unpackhi_epi8(lk, inv),
                    ));
                    let key = _mm_cvtsi128_si32(key) as u32;
                    let ok = key & 0xff00 != 0x0f00;
                    let b = (key & 0xff) as usize;
                    ck[i] = _mm_andnot_si128(kill.kill[b], x);
                    moved[i][kill.dt[b] as usize] |= (ok as u16) << kill.src[b];
                    dst[i] |= (ok as u16) << (b >> 4);
                    live |= ok;
                    if ok && !logs.is_empty() {
                        logs[i].push(Move {
                            t: t as u32,
                            r: (r0 + i) as u32,
                            l: (b >> 4) as u32,
                            dt: tab.dt[b & 7] as u32,
                            src: kill.src[b] as u32,
                        });
                    }
                }
            }
            // Written back row by row, Δt by Δt.
            for i in 0..nr {
                let r = r0 + i;
                let dst = dst[i] as u64;
                let here = t * rows + r;
                self.cur[here] |= dst;
                self.fixed[here] &= !dst;
                *self.promoted += dst.count_ones() as u64;
                for (d, &m) in moved[i].iter().enumerate().take(tab.max_dt) {
                    let m = m as u64;
                    let from = (t + d + 1) * rows + r;
                    self.cur[from] &= !m;
                    self.fixed[from] &= !m;
                    self.moved[here * self.dts + d] = m;
                }
                if let Some(log) = logs.get_mut(i) {
                    self.moves.as_deref_mut().expect("logging").append(log);
                }
            }
            r0 += nr;
        }
    }

    /// Row r of step t with each (step, row) a u64 of lanes: candidate counts of every
    /// zero slot kept bit-sliced (plane b holds bit b of each lane's count), so the
    /// slots with the most candidates are found with a few ANDs, and a promotion
    /// updates only the counts of the slots that had its weight as a candidate.
    /// `cand[k]`: the zero slots whose candidate k holds a weight.
    #[inline]
    fn row_narrow(&mut self, t: usize, r: usize, n: usize, cand: &mut [u64]) {
        let (rows, lanes) = (self.rows, self.pat.lanes);
        let full = if lanes == 64 {
            !0u64
        } else {
            (1u64 << lanes) - 1
        };
        let wrap = |x: usize| if x >= lanes { x - lanes } else { x };
        let offs = &self.pat.offsets[..n];
        let mut zt = !self.cur[t * rows + r] & full;
        if zt == 0 {
            return;
        }
        let n_planes = (usize::BITS - n.leading_zeros()) as usize;
        // Bit-sliced counts of each zero slot's candidates.
        let mut planes = [0u64; 8];
        let mut any = 0u64;
        for (k, &(dt, dl)) in offs.iter().enumerate() {
            let m = self.cur[(t + dt) * rows + r];
            let c = if dl == 0 {
                m
            } else {
                ((m >> dl) | (m << (lanes - dl))) & full
            } & zt;
            cand[k] = c;
            any |= c;
            let mut carry = c;
            for p in planes.iter_mut().take(n_planes) {
                let s = *p ^ carry;
                carry &= *p;
                *p = s;
            }
        }
        if any == 0 {
            return;
        }
        loop {
            let mut m = planes[..n_planes].iter().fold(0, |a, &p| a | p) & zt;
            if m == 0 {
                return;
            }
            // The slots with the most candidates, then the lowest lane.
            for &p in planes[..n_planes].iter().rev() {
                let x = m & p;
                m = if x != 0 { x } else { m };
            }
            let l = m.trailing_zeros() as usize;
            let k = cand[..n]
                .iter()
                .position(|&c| c >> l & 1 == 1)
                .expect("a slot with candidates has a first one");
            let (dt, dl) = offs[k];
            let src = wrap(l + dl);
            self.promote1(t, r, l, dt, src);
            zt &= !(1 << l);
            for p in planes.iter_mut().take(n_planes) {
                *p &= !(1 << l);
            }
            for c in cand[..n].iter_mut() {
                *c &= !(1 << l);
            }
            // The slots that had (t + dt, src) as a candidate lose it: the offsets of
            // the same Δt (a run of the sorted offsets).
            for (k2, &(dt2, dl2)) in offs.iter().enumerate() {
                if dt2 != dt {
                    continue;
                }
                let b = 1u64 << wrap(src + lanes - dl2);
                if cand[k2] & b != 0 {
                    cand[k2] &= !b;
                    for p in planes.iter_mut().take(n_planes) {
                        *p ^= b;
                        if *p & b == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// The same for any number of lanes: candidate counts per lane, recounted as
    /// promotions take candidates away.
    fn row_wide(&mut self, t: usize, r: usize, n: usize, count: &mut [usize]) {
        let (rows, lanes, words) = (self.rows, self.pat.lanes, self.words);
        let here = (t * rows + r) * words;
        let row = |dt: usize| ((t + dt) * rows + r) * words;
        for (l, c) in count.iter_mut().enumerate() {
            *c = if bit(&self.cur[here..], l) {
                0
            } else {
                self.pat.offsets[..n]
                    .iter()
                    .filter(|&&(dt, dl)| bit(&self.cur[row(dt)..], (l + dl) % lanes))
                    .count()
            };
        }
        loop {
            // First slot (lowest lane) with the most candidates.
            let mut best = 0;
            let mut l = 0;
            for (i, &c) in count.iter().enumerate() {
                if c > best {
                    (best, l) = (c, i);
                }
            }
            if best == 0 {
                return;
            }
            let (dt, src) = self.pat.offsets[..n]
                .iter()
                .map(|&(dt, dl)| (dt, (l + dl) % lanes))
                .find(|&(dt, src)| bit(&self.cur[row(dt)..], src))
                .expect("a slot with candidates has a first one");
            self.promote(t, r, l, dt, src);
            count[l] = 0;
            for &(dt2, dl2) in &self.pat.offsets[..n] {
                let l2 = (src + lanes - dl2) % lanes;
                if dt2 == dt && count[l2] > 0 {
                    count[l2] -= 1;
                }
            }
        }
    }
}

/// A schedule and what follows from it alone (the zeros it leaves out of the busy
/// lane-cycles, [`removed_zeros`]): built once per (layer, group, pattern, rows, lanes)
/// and shared by the group's schemes with that pattern, and through a [`ScheduleCache`]
/// by every sample of a run.
pub(crate) struct Built {
    schedule: Schedule,
    /// [`removed_sums`] if the scheduler counted them.
    sums: Option<Vec<u64>>,
    removed: OnceLock<Vec<u64>>,
    /// The [`Entries`] of the schedule per (weight key, weight factors), built by the
    /// first scheme (of any sample) to ask: they depend on the weights alone.
    entries: Mutex<Vec<(EntriesKey, EntriesCell)>>,
}

/// The entries of one (weight key, weight factors), built once.
type EntriesCell = Arc<OnceLock<Arc<Entries>>>;

/// Schedules kept across the samples of one run of one network. A layer's schedule
/// depends only on its weights, the pattern and the array's rows and lanes, so a run of
/// several samples (`mltq simulate --all-samples`) builds it once: the first sample to
/// reach a (layer, group, pattern, rows, lanes) builds it, the others wait for it or
/// take it. An entry is dropped after its last expected use, so the cache holds only
/// the schedules of layers some sample has yet to reach.
///
/// Keyed by layer name: one cache serves one network (the one of the samples).
pub struct ScheduleCache {
    /// Uses expected per key: one per sample.
    uses: usize,
    built: AtomicUsize,
    map: Mutex<HashMap<CacheKey, CacheEntry>>,
}

/// The schedule being built or built, and the uses left before the entry is dropped.
type CacheEntry = (Arc<OnceLock<Arc<Built>>>, usize);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    layer: String,
    group: usize,
    ws: WeightSchedule,
    rows: usize,
    lanes: usize,
}

impl ScheduleCache {
    /// A cache for a run of `samples` samples of one network.
    pub fn new(samples: usize) -> ScheduleCache {
        ScheduleCache {
            uses: samples.max(1),
            built: AtomicUsize::new(0),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// How many schedules were built through this cache (tests: one per layer, group
    /// and pattern, whatever the number of samples).
    pub fn built(&self) -> usize {
        self.built.load(Ordering::Relaxed)
    }

    /// The schedule of `key`, built by `build` if no sample has built it yet. Correct
    /// whatever the count of uses: an entry dropped too early is only built again.
    fn get(&self, key: CacheKey, build: impl FnOnce() -> Built) -> Arc<Built> {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            let e = map
                .entry(key.clone())
                .or_insert_with(|| (Arc::new(OnceLock::new()), self.uses));
            e.1 -= 1;
            let cell = e.0.clone();
            if e.1 == 0 {
                map.remove(&key);
            }
            cell
        };
        cell.get_or_init(|| {
            self.built.fetch_add(1, Ordering::Relaxed);
            Arc::new(build())
        })
        .clone()
    }
}

/// What a group's schemes with weight schedules share: the schedule of each pattern
/// and, per (pattern, weight key, weight factors), its [`Entries`].
pub(super) struct Shared<'c> {
    /// Per pattern: the weight key its schedule is built from, and the schedule.
    patterns: Vec<(WeightSchedule, usize, OnceCell<Arc<Built>>)>,
    /// Schedules shared with the other samples of the run, and this layer's name.
    cache: Option<(&'c ScheduleCache, &'c str)>,
}

type EntriesKey = (usize, [u8; 256]);

impl<'c> Shared<'c> {
    /// Nothing built yet, for the patterns of `ops`' schemes; schedules come from (and
    /// go to) `cache` if given, for the layer named there.
    pub fn new(ops: &Operands, cache: Option<(&'c ScheduleCache, &'c str)>) -> Shared<'c> {
        // Any key gives the schedule (a word is zero under every key alike); that of a
        // scheme whose costs read the weights' terms laid out, so that one layout
        // serves both.
        let reads_terms =
            |s: &SchemeOps| Rows::new(s).is_some() || !one_factor(&lut(&s.weight_rule));
        let mut patterns: Vec<(WeightSchedule, usize, OnceCell<Arc<Built>>)> = Vec::new();
        for s in &ops.schemes {
            let Some(ws) = s.schedule else { continue };
            match patterns.iter().position(|(p, ..)| *p == ws) {
                None => patterns.push((ws, s.w, OnceCell::new())),
                Some(i) if reads_terms(s) => patterns[i].1 = s.w,
                Some(_) => {}
            }
        }
        Shared { patterns, cache }
    }

    fn index(&self, ws: &WeightSchedule) -> usize {
        self.patterns
            .iter()
            .position(|(p, ..)| p == ws)
            .expect("a pattern of the group's schemes")
    }

    /// The group's schedule for `ws` and what follows from it.
    fn built(&self, grp: &Group, ws: &WeightSchedule) -> &Built {
        let (_, w, cell) = &self.patterns[self.index(ws)];
        let w = *w;
        cell.get_or_init(|| {
            let b = &grp.b;
            let build = || {
                let (schedule, sums) = Schedule::new_counted(
                    grp.weight_terms(w),
                    grp.fg,
                    b.steps,
                    grp.array.rows,
                    &Pattern::new(ws, b.lanes, b.steps),
                );
                Built {
                    schedule,
                    sums,
                    removed: OnceLock::new(),
                    entries: Mutex::new(Vec::new()),
                }
            };
            match self.cache {
                Some((cache, layer)) => cache.get(
                    CacheKey {
                        layer: layer.to_string(),
                        group: grp.g,
                        ws: *ws,
                        rows: grp.array.rows,
                        lanes: b.lanes,
                    },
                    build,
                ),
                None => Arc::new(build()),
            }
        })
    }

    /// The group's schedule for `ws`.
    pub fn schedule(&self, grp: &Group, ws: &WeightSchedule) -> &Schedule {
        &self.built(grp, ws).schedule
    }

    /// The zeros `ws`'s schedule leaves out of the group's busy lane-cycles.
    pub fn removed(&self, grp: &Group, ws: &WeightSchedule) -> &[u64] {
        let built = self.built(grp, ws);
        built
            .removed
            .get_or_init(|| removed_zeros(&grp.b, &built.schedule, built.sums.as_deref()))
    }

    /// Adds the zeros `s`'s schedule leaves out to `removed` (the layer's index), when
    /// its zero weights would cost a cycle factor.
    fn add_removed(&self, grp: &Group, s: &SchemeOps, removed: &mut [u64]) {
        if lut(&s.weight_rule)[0] == 0 {
            return;
        }
        let r = self.removed(grp, &s.schedule.expect("scheduled"));
        let at = grp.g * r.len();
        for (o, &x) in removed[at..at + r.len()].iter_mut().zip(r) {
            *o += x;
        }
    }

    /// The entries of `ws`'s schedule with the weight factors `lw` of weight key `w`.
    fn entries(&self, grp: &Group, ws: &WeightSchedule, w: usize, lw: &[u8; 256]) -> Arc<Entries> {
        let built = self.built(grp, ws);
        let key = (w, *lw);
        let cell = {
            let mut all = built.entries.lock().unwrap_or_else(|e| e.into_inner());
            match all.iter().find(|(k, _)| *k == key) {
                Some((_, c)) => c.clone(),
                None => {
                    let c = EntriesCell::default();
                    all.push((key, c.clone()));
                    c
                }
            }
        };
        cell.get_or_init(|| Arc::new(Entries::new(&built.schedule, grp.weight_terms(w), lw)))
            .clone()
    }
}

/// Per entry (buffer set j, kept step t; entries in the order of `Schedule::kept`), the
/// weight factors its slots pair with each activation: one brick of `lanes` factors per
/// Δt that some slot reads, `brick[l]` = the max over the set's rows of the factor of
/// the slot whose weight came from (t + Δt, l), 0 if none (a slot emptied by a
/// promotion pairs with nothing). Bricks of zeros are left out.
#[derive(Debug, PartialEq, Eq)]
pub struct Entries {
    lanes: usize,
    /// Step of each entry.
    step: Vec<u32>,
    /// Bricks of entry e: `start[e]..start[e + 1]`.
    start: Vec<u32>,
    /// Δt of each brick.
    dt: Vec<u32>,
    /// The bricks, `lanes` factors each.
    bricks: Vec<u8>,
}

impl Entries {
    fn new(sch: &Schedule, terms: &[u8], lw: &[u8; 256]) -> Entries {
        let (lanes, words) = (sch.lanes, sch.words);
        let mut e = Entries {
            lanes,
            step: Vec::with_capacity(sch.kept.len()),
            start: Vec::with_capacity(sch.kept.len() + 1),
            dt: Vec::new(),
            bricks: Vec::new(),
        };
        e.start.push(0);
        let konst = words == 1 && one_factor(lw);
        // Term skipping on 16 lanes: the factor is the term count, a masked vector max.
        let ident16 =
            words == 1 && lanes == 16 && lw.iter().enumerate().all(|(i, &x)| x as usize == i);
        let max_dt = sch.dts;
        if konst {
            e.konst(sch, lw, max_dt);
            return e;
        }
        if ident16 {
            e.ident16(sch, terms, max_dt);
            return e;
        }
        e.general(sch, terms, lw, max_dt);
        e
    }

    /// [`Entries::new`] for any rule and width.
    fn general(&mut self, sch: &Schedule, terms: &[u8], lw: &[u8; 256], max_dt: usize) {
        let (lanes, steps, words) = (sch.lanes, sch.steps, sch.words);
        let e = self;
        // Per Δt (0: the slots' own weights), the brick being
        // built; the Δt's used.
        let mut acc = vec![0u8; (max_dt + 1) * lanes];
        let mut used: Vec<usize> = Vec::new();
        for j in 0..sch.sets {
            for &t in sch.kept(j) {
                let t = t as usize;
                used.clear();
                used.push(0);
                // Adds the weights of row f at step t + dt, lanes `m`, to brick dt.
                let add = |acc: &mut [u8], f: usize, dt: usize, m: &[u64]| {
                    let b = &mut acc[dt * lanes..(dt + 1) * lanes];
                    let w = &terms[(f * steps + t + dt) * lanes..][..lanes];
                    for (l, (o, &x)) in b.iter_mut().zip(w).enumerate() {
                        if bit(m, l) {
                            *o = (*o).max(lw[x as usize]);
                        }
                    }
                };
                for r in 0..sch.real_rows[j] {
                    let f = j * sch.rows + r;
                    let at = sch.at(j, t, r);
                    add(&mut acc, f, 0, &sch.fixed[at..at + words]);
                    for (dt, m) in sch.into(j, t, r) {
                        if !used.contains(&dt) {
                            used.push(dt);
                        }
                        add(&mut acc, f, dt, m);
                    }
                }
                used.sort_unstable();
                e.step.push(t as u32);
                for &dt in &used {
                    let b = &mut acc[dt * lanes..(dt + 1) * lanes];
                    if b.iter().any(|&x| x > 0) {
                        e.dt.push(dt as u32);
                        e.bricks.extend_from_slice(b);
                    }
                    b.fill(0);
                }
                e.start.push(e.dt.len() as u32);
            }
        }
    }

    /// [`Entries::new`] when every nonzero weight has the factor `lw[1]` (one mask word
    /// per slot row): per entry, the rows' own slots as masks of nonzeros and of zeros
    /// left in place, and per Δt the OR of the rows' promotions (the rows of a kept step
    /// are one run of the schedule's per-row tables).
    fn konst(&mut self, sch: &Schedule, lw: &[u8; 256], max_dt: usize) {
        let (lanes, dts) = (sch.lanes, sch.dts);
        let mut by_dt = vec![0u64; max_dt + 1];
        let groups = lanes.div_ceil(8);
        let mut b = vec![0u64; groups];
        let spread = |x: u8| x as u64 * 0x0101_0101_0101_0101;
        let (w0, w1, wm) = (spread(lw[0]), spread(lw[1]), spread(lw[0].max(lw[1])));
        // The brick of `lanes` factors, eight lanes to a u64: `v` where `m` is set.
        let push = |bricks: &mut Vec<u8>, b: &[u64]| {
            for (g, x) in b.iter().enumerate() {
                bricks.extend_from_slice(&x.to_le_bytes()[..(lanes - 8 * g).min(8)]);
            }
        };
        for j in 0..sch.sets {
            for &t in sch.kept(j) {
                let i0 = sch.row(j, t as usize, 0);
                let i1 = i0 + sch.real_rows[j];
                let (mut nz, mut zero) = (0u64, 0u64);
                for (&f, &o) in sch.fixed[i0..i1].iter().zip(&sch.orig[i0..i1]) {
                    nz |= f & o;
                    zero |= f & !o;
                }
                zero &= full(lanes);
                if dts > 0 {
                    for ms in sch.moved[i0 * dts..i1 * dts].chunks_exact(dts) {
                        for (b, &m) in by_dt[1..].iter_mut().zip(ms) {
                            *b |= m;
                        }
                    }
                }
                self.step.push(t);
                // Own slots: nonzeros lw[1], zeros left in place lw[0], the max of the
                // two where some rows have one and some the other.
                for (g, x) in b.iter_mut().enumerate() {
                    let byte = |m: u64| EXPAND[(m >> (8 * g) & 0xff) as usize];
                    *x = (byte(nz & !zero) & w1) | (byte(zero & !nz) & w0) | (byte(nz & zero) & wm);
                }
                if b.iter().any(|&x| x != 0) {
                    self.dt.push(0);
                    push(&mut self.bricks, &b);
                }
                // Promoted weights are nonzero.
                for (dt, m) in by_dt.iter_mut().enumerate().skip(1) {
                    if *m != 0 && lw[1] > 0 {
                        self.dt.push(dt as u32);
                        for (g, x) in b.iter_mut().enumerate() {
                            *x = EXPAND[(*m >> (8 * g) & 0xff) as usize] & w1;
                        }
                        push(&mut self.bricks, &b);
                    }
                    *m = 0;
                }
                self.start.push(self.dt.len() as u32);
            }
        }
    }

    /// [`Entries::new`] on 16 lanes when a weight's factor is its term count: per Δt,
    /// the byte-wise max of the rows' terms under the masks of their slots.
    fn ident16(&mut self, sch: &Schedule, terms: &[u8], max_dt: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU has AVX-512 BW and VL (just checked).
            unsafe { self.ident16_avx512(sch, terms, max_dt) };
            return;
        }
        self.ident16_sse(sch, terms, max_dt);
    }

    /// [`Entries::ident16`] anywhere: the masked maxima in [`Max16`] (an SSE2 register
    /// on x86-64).
    fn ident16_sse(&mut self, sch: &Schedule, terms: &[u8], max_dt: usize) {
        let (steps, dts) = (sch.steps, sch.dts);
        let mut acc = vec![Max16::default(); max_dt + 1];
        let mut used = vec![false; max_dt + 1];
        for j in 0..sch.sets {
            for &t in sch.kept(j) {
                let t = t as usize;
                for r in 0..sch.real_rows[j] {
                    let f = j * sch.rows + r;
                    let i = sch.row(j, t, r);
                    let w = &terms[(f * steps + t) * 16..];
                    acc[0].add(&w[..16], sch.fixed[i]);
                    for (d, &m) in sch.moved[i * dts..(i + 1) * dts].iter().enumerate() {
                        if m != 0 {
                            used[d + 1] = true;
                            acc[d + 1].add(&w[(d + 1) * 16..(d + 2) * 16], m);
                        }
                    }
                }
                self.step.push(t as u32);
                for (dt, (b, u)) in acc.iter_mut().zip(used.iter_mut()).enumerate() {
                    let x = b.take();
                    if (dt == 0 || *u) && x.iter().any(|&x| x > 0) {
                        self.dt.push(dt as u32);
                        self.bricks.extend_from_slice(&x);
                    }
                    *u = false;
                }
                self.start.push(self.dt.len() as u32);
            }
        }
    }

    /// [`Entries::ident16`] with masked loads: a slot's weight is read only where its
    /// lane is in the mask.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn ident16_avx512(&mut self, sch: &Schedule, terms: &[u8], max_dt: usize) {
        use std::arch::x86_64::*;
        let (steps, dts) = (sch.steps, sch.dts);
        let mut acc = vec![_mm_setzero_si128(); max_dt + 1];
        let mut used = vec![false; max_dt + 1];
        let mut x = [0u8; 16];
        for j in 0..sch.sets {
            for &t in sch.kept(j) {
                let t = t as usize;
                for r in 0..sch.real_rows[j] {
                    let f = j * sch.rows + r;
                    let i = sch.row(j, t, r);
                    let w = &terms[(f * steps + t) * 16..];
                    let load = |d: usize, m: u64| {
                        let b = &w[d * 16..d * 16 + 16];
                        _mm_maskz_loadu_epi8(m as u16, b.as_ptr().cast())
                    };
                    acc[0] = _mm_max_epu8(acc[0], load(0, sch.fixed[i]));
                    for (d, &m) in sch.moved[i * dts..(i + 1) * dts].iter().enumerate() {
                        if m != 0 {
                            used[d + 1] = true;
                            acc[d + 1] = _mm_max_epu8(acc[d + 1], load(d + 1, m));
                        }
                    }
                }
                self.step.push(t as u32);
                for (dt, (b, u)) in acc.iter_mut().zip(used.iter_mut()).enumerate() {
                    _mm_storeu_si128(x.as_mut_ptr().cast(), *b);
                    if (dt == 0 || *u) && x.iter().any(|&x| x > 0) {
                        self.dt.push(dt as u32);
                        self.bricks.extend_from_slice(&x);
                    }
                    *b = _mm_setzero_si128();
                    *u = false;
                }
                self.start.push(self.dt.len() as u32);
            }
        }
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// True with no entries.
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// max over the bricks of entry e of max over lanes of w·a, with `act` the
    /// activation factors of every step, `[t·lanes + l]`.
    #[inline]
    pub fn product(&self, e: usize, act: &[u8]) -> u32 {
        let t = self.step[e] as usize;
        let ln = self.lanes;
        let mut m = 0;
        for b in self.start[e] as usize..self.start[e + 1] as usize {
            let s = t + self.dt[b] as usize;
            m = m.max(brick_cost(
                &act[s * ln..][..ln],
                &self.bricks[b * ln..][..ln],
            ));
        }
        m
    }

    /// [`Entries::product`] of every entry, into `out`.
    pub fn products(&self, act: &[u8], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        if self.lanes == 16 {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (just checked).
                unsafe { self.products16_avx2(act, out) };
            } else {
                self.products16(act, out);
            }
            return;
        }
        for (e, o) in out.iter_mut().enumerate() {
            *o = self.product(e, act);
        }
    }

    /// [`Entries::products`] on 16 lanes: per entry, the products' maxima lane by lane
    /// over its bricks, then the max over the lanes.
    #[cfg(target_arch = "x86_64")]
    fn products16(&self, act: &[u8], out: &mut [u32]) {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes of a 16-byte slice.
        unsafe {
            let z = _mm_setzero_si128();
            // max of u16 lanes: a + (b −sat a).
            let max = |a: __m128i, b: __m128i| _mm_add_epi16(_mm_subs_epu16(b, a), a);
            for (e, o) in out.iter_mut().enumerate() {
                let t = self.step[e] as usize;
                let mut m = z;
                for b in self.start[e] as usize..self.start[e + 1] as usize {
                    let s = t + self.dt[b] as usize;
                    let a = _mm_loadu_si128(act[s * 16..s * 16 + 16].as_ptr().cast());
                    let w = _mm_loadu_si128(self.bricks[b * 16..b * 16 + 16].as_ptr().cast());
                    let lo = _mm_mullo_epi16(_mm_unpacklo_epi8(a, z), _mm_unpacklo_epi8(w, z));
                    let hi = _mm_mullo_epi16(_mm_unpackhi_epi8(a, z), _mm_unpackhi_epi8(w, z));
                    m = max(m, max(lo, hi));
                }
                m = max(m, _mm_shuffle_epi32::<0b01_00_11_10>(m));
                m = max(m, _mm_shuffle_epi32::<0b10_11_00_01>(m));
                m = max(m, _mm_srli_epi32::<16>(m));
                *o = (_mm_cvtsi128_si32(m) & 0xffff) as u32;
            }
        }
    }

    /// [`Entries::products16`] with the 16 products of a brick in one AVX2 register.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn products16_avx2(&self, act: &[u8], out: &mut [u32]) {
        use std::arch::x86_64::*;
        let ones = _mm_set1_epi8(-1);
        for (e, o) in out.iter_mut().enumerate() {
            let t = self.step[e] as usize;
            let mut m = _mm256_setzero_si256();
            for b in self.start[e] as usize..self.start[e + 1] as usize {
                let s = t + self.dt[b] as usize;
                let a = _mm_loadu_si128(act[s * 16..s * 16 + 16].as_ptr().cast());
                let w = _mm_loadu_si128(self.bricks[b * 16..b * 16 + 16].as_ptr().cast());
                let p = _mm256_mullo_epi16(_mm256_cvtepu8_epi16(a), _mm256_cvtepu8_epi16(w));
                m = _mm256_max_epu16(m, p);
            }
            let x = _mm_max_epu16(_mm256_castsi256_si128(m), _mm256_extracti128_si256::<1>(m));
            // The max of eight u16 is 0xffff less the min of their complements.
            let min = _mm_minpos_epu16(_mm_xor_si128(x, ones));
            *o = 0xffff - (_mm_cvtsi128_si32(min) as u32 & 0xffff);
        }
    }

    /// The largest weight factor of entry e (0 if every slot is empty).
    pub fn max_weight(&self, e: usize) -> u32 {
        let ln = self.lanes;
        let (b0, b1) = (self.start[e] as usize, self.start[e + 1] as usize);
        self.bricks[b0 * ln..b1 * ln]
            .iter()
            .copied()
            .max()
            .unwrap_or(0) as u32
    }
}

/// A brick of 16 bytes being maxed into, in a register where there is one.
#[derive(Clone, Copy)]
struct Max16 {
    #[cfg(target_arch = "x86_64")]
    v: std::arch::x86_64::__m128i,
    #[cfg(not(target_arch = "x86_64"))]
    v: [u8; 16],
}

impl Default for Max16 {
    fn default() -> Max16 {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of x86-64.
            Max16 {
                v: unsafe { std::arch::x86_64::_mm_setzero_si128() },
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Max16 { v: [0; 16] }
        }
    }
}

impl Max16 {
    /// `self[l] = max(self[l], w[l])` for the lanes l set in `m` (`w`: 16 bytes).
    #[inline]
    fn add(&mut self, w: &[u8], m: u64) {
        let w: &[u8; 16] = w.try_into().expect("16 lanes");
        let (lo, hi) = (
            EXPAND[(m & 0xff) as usize],
            EXPAND[(m >> 8 & 0xff) as usize],
        );
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of `w`.
            unsafe {
                let mb = _mm_set_epi64x(hi as i64, lo as i64);
                let x = _mm_and_si128(_mm_loadu_si128(w.as_ptr().cast()), mb);
                self.v = _mm_max_epu8(self.v, x);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let (lo, hi) = (lo.to_le_bytes(), hi.to_le_bytes());
            for l in 0..16 {
                let mb = if l < 8 { lo[l] } else { hi[l - 8] };
                self.v[l] = self.v[l].max(w[l] & mb);
            }
        }
    }

    /// The brick, and zeros left in its place.
    #[inline]
    fn take(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of x86-64; the store writes the 16 bytes of `out`.
        unsafe {
            use std::arch::x86_64::*;
            _mm_storeu_si128(out.as_mut_ptr().cast(), self.v);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            out = self.v;
        }
        *self = Max16::default();
        out
    }
}

/// Whether every nonzero weight has one factor under `lw` (parallel operands, word
/// skipping): then a row's slots matter only as masks of zeros and nonzeros.
fn one_factor(lw: &[u8; 256]) -> bool {
    lw[2..].iter().all(|&x| x == lw[1])
}

/// Byte b of `EXPAND[m]` is 0xff where bit b of m is set.
const EXPAND: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let mut b = 0;
        while b < 8 {
            if m >> b & 1 == 1 {
                t[m] |= 0xff << (8 * b);
            }
            b += 1;
        }
        m += 1;
    }
    t
};

fn full(lanes: usize) -> u64 {
    if lanes >= 64 {
        !0
    } else {
        (1u64 << lanes) - 1
    }
}

/// Run one scheduled scheme's units of a conv group; returns what the schedule did.
pub(super) fn run(
    grp: &Group,
    sh: &Shared,
    s: &SchemeOps,
    cols: &mut impl Units,
    removed: &mut [u64],
) -> ScheduleCounts {
    let ws = s.schedule.expect("a scheduled scheme");
    let sch = sh.schedule(grp, &ws);
    let (sets, passes, tiles) = (grp.window_sets(), grp.passes(), grp.array.tiles);
    let calls: Vec<usize> = (0..passes).map(|p| sch.calls(p, tiles)).collect();
    let per_set: u64 = calls.iter().map(|&c| c as u64).sum();
    sh.add_removed(grp, s, removed);
    let counts = ScheduleCounts {
        kept_steps: per_set * sets as u64,
        steps: (grp.b.steps * passes * sets) as u64,
        promoted: sch.promoted(),
    };
    let cost = Cost::new(grp, sh, s);
    let cn = grp.array.columns;
    let min = s.min_cycles;
    let mut buf = Vec::new();
    let mut best = Vec::new();
    if cols.lockstep() {
        if let Cost::Fixed(ec) = &cost {
            // Every window set costs the same.
            let one: u64 = (0..passes)
                .map(|p| calls_sum(sch, ec, p, tiles, min, &mut best))
                .sum();
            cols.add_lockstep(one * sets as u64);
            return counts;
        }
        let mut ec = vec![0u32; sch.kept.len()];
        let mut total = 0u64;
        match &cost {
            Cost::Product { entries, la, a } => {
                // The set's activation factors at the columns' maxima, [t][lane].
                let tl = grp.b.steps * grp.b.lanes;
                let mut act = Vec::with_capacity(tl);
                grp.each_column_max(*a, |_, top| {
                    act.extend(top.iter().map(|&m| la[m as usize]));
                    if act.len() == tl {
                        entries.products(&act, &mut ec);
                        total += (0..passes)
                            .map(|p| calls_sum(sch, &ec, p, tiles, min, &mut best))
                            .sum::<u64>();
                        act.clear();
                    }
                });
            }
            Cost::Rows(rows) => {
                for set in 0..sets {
                    let slots = grp.set_slots(set, &mut buf);
                    ec.fill(0);
                    for c in 0..cn {
                        if slots[c] == IDLE {
                            continue;
                        }
                        for (e, x) in ec.iter_mut().enumerate() {
                            *x = (*x).max(rows.cost(grp, sch, e, Some((slots, c))));
                        }
                    }
                    total += (0..passes)
                        .map(|p| calls_sum(sch, &ec, p, tiles, min, &mut best))
                        .sum::<u64>();
                }
            }
            Cost::Fixed(_) => unreachable!("handled above"),
        }
        cols.add_lockstep(total);
        return counts;
    }
    // Drifting columns: each column's own cost, one unit per call.
    let ne = sch.kept.len();
    let mut ec = vec![0u32; cn * ne];
    let mut act = vec![0u8; grp.b.steps * grp.b.lanes];
    let mut cost_v = vec![0u32; cn];
    for set in 0..sets {
        let slots = grp.set_slots(set, &mut buf);
        for c in 0..cn {
            if slots[c] == IDLE {
                continue;
            }
            let ec = &mut ec[c * ne..(c + 1) * ne];
            match &cost {
                Cost::Fixed(f) => ec.copy_from_slice(f),
                Cost::Product { entries, la, a } => {
                    column_acts(grp, *a, la, slots, c, &mut act);
                    entries.products(&act, ec);
                }
                Cost::Rows(rows) => {
                    for (e, x) in ec.iter_mut().enumerate() {
                        *x = rows.cost(grp, sch, e, Some((slots, c)));
                    }
                }
            }
        }
        for (p, &n) in calls.iter().enumerate() {
            let js = sch.pass_sets(p, tiles);
            for call in 0..n {
                for (c, v) in cost_v.iter_mut().enumerate() {
                    *v = if slots[c] == IDLE {
                        0
                    } else {
                        let ec = &ec[c * ne..(c + 1) * ne];
                        js.clone()
                            .filter(|&j| call < sch.kept(j).len())
                            .map(|j| ec[sch.kept_start[j] + call])
                            .max()
                            .unwrap_or(0)
                            .max(min)
                    };
                }
                cols.unit(&cost_v);
            }
        }
    }
    counts
}

/// Cycles of a scheduled scheme on an FC layer (one group, one window): the calls of
/// every pass in order, dealt round-robin to the columns and issued one per cycle.
pub(super) fn fc(
    grp: &Group,
    sh: &Shared,
    s: &SchemeOps,
    removed: &mut [u64],
) -> (u64, ScheduleCounts) {
    let ws = s.schedule.expect("a scheduled scheme");
    let sch = sh.schedule(grp, &ws);
    let (passes, tiles, columns) = (grp.passes(), grp.array.tiles, grp.array.columns);
    sh.add_removed(grp, s, removed);
    let cost = Cost::new(grp, sh, s);
    let ec: Vec<u32> = match &cost {
        Cost::Fixed(f) => f.clone(),
        Cost::Product { entries, la, a } => {
            // The one window reads position 0: every chunk, no padding.
            let act: Vec<u8> = grp.act_terms(*a).iter().map(|&t| la[t as usize]).collect();
            (0..entries.len())
                .map(|e| entries.product(e, &act))
                .collect()
        }
        Cost::Rows(rows) => (0..sch.kept.len())
            .map(|e| rows.cost(grp, sch, e, None))
            .collect(),
    };
    let mut free = vec![0u64; columns];
    let (mut issue, mut i, mut kept_steps) = (0u64, 0usize, 0u64);
    for p in 0..passes {
        let js = sch.pass_sets(p, tiles);
        for call in 0..sch.calls(p, tiles) {
            let cost = js
                .clone()
                .filter(|&j| call < sch.kept(j).len())
                .map(|j| ec[sch.kept_start[j] + call])
                .max()
                .unwrap_or(0)
                .max(s.min_cycles) as u64;
            let col = i % columns;
            let start = issue.max(free[col]);
            free[col] = start + cost;
            issue = start + 1;
            i += 1;
            kept_steps += 1;
        }
    }
    let counts = ScheduleCounts {
        kept_steps,
        steps: (grp.b.steps * passes) as u64,
        promoted: sch.promoted(),
    };
    (free.into_iter().max().unwrap_or(0), counts)
}

/// Σ over the calls of pass p of the call's cost: the max over the tiles still holding
/// a kept step of their entry's cost `ec`, at least `min`.
fn calls_sum(
    sch: &Schedule,
    ec: &[u32],
    p: usize,
    tiles: usize,
    min: u32,
    best: &mut Vec<u32>,
) -> u64 {
    let js = sch.pass_sets(p, tiles);
    best.clear();
    best.resize(sch.calls(p, tiles), 0);
    for j in js {
        let k0 = sch.kept_start[j];
        for (b, &x) in best.iter_mut().zip(&ec[k0..sch.kept_start[j + 1]]) {
            *b = (*b).max(x);
        }
    }
    best.iter().map(|&x| x.max(min) as u64).sum()
}

/// Column c's activation factors `la` of act key a in window set `slots`, `[t][lane]`.
fn column_acts(grp: &Group, a: usize, la: &[u8; 256], slots: &[usize], c: usize, act: &mut [u8]) {
    let (cn, cp) = (grp.array.columns, grp.b.padded_channels());
    let terms = grp.act_terms(a);
    for (q, row) in act.chunks_exact_mut(cp).enumerate() {
        match slots[q * cn + c] {
            PAD => row.fill(la[0]),
            pos => {
                let src = &terms[grp.brick_offset(pos, 0)..][..cp];
                for (o, &t) in row.iter_mut().zip(src) {
                    *o = la[t as usize];
                }
            }
        }
    }
}

/// How a scheduled scheme's entries are costed.
enum Cost {
    /// The same for every window (constant activation factors): per entry.
    Fixed(Vec<u32>),
    /// max over lanes of w·a, a = `la` of act key `a`'s terms.
    Product {
        entries: Arc<Entries>,
        la: Box<[u8; 256]>,
        a: usize,
    },
    /// Pragmatic's first stage: rounds per PE.
    Rows(Box<Rows>),
}

impl Cost {
    fn new(grp: &Group, sh: &Shared, s: &SchemeOps) -> Cost {
        let ws = s.schedule.expect("a scheduled scheme");
        let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
        if let Some(rows) = Rows::new(s) {
            return Cost::Rows(Box::new(rows));
        }
        let entries = sh.entries(grp, &ws, s.w, &lw);
        match s.act_rule.constant_cycle() {
            Some(ka) => Cost::Fixed(
                (0..entries.len())
                    .map(|e| ka * entries.max_weight(e))
                    .collect(),
            ),
            None => Cost::Product {
                entries,
                la: Box::new(la),
                a: s.a,
            },
        }
    }
}

/// Pragmatic's first stage with a schedule: each PE (row) of a buffer set at a kept
/// step is costed on its own, its pending bits those of its slots' pairs.
pub(super) struct Rows {
    serial: Operand,
    bits: u32,
    te: crate::encoding::TermEncoding,
    w: usize,
    a: usize,
    lw: [u8; 256],
    la: [u8; 256],
}

impl Rows {
    /// The first stage of `s`, if it has one.
    pub(super) fn new(s: &SchemeOps) -> Option<Rows> {
        let Family::FirstStage { serial, bits } = s.family else {
            return None;
        };
        Some(Rows {
            serial,
            bits,
            te: s.term_encoding,
            w: s.w,
            a: s.a,
            lw: lut(&s.weight_rule),
            la: lut(&s.act_rule),
        })
    }

    /// Max over the real rows of entry e (global index) of the rounds, for column c of
    /// the window set with `slots` (None: an FC layer's one window).
    fn cost(&self, grp: &Group, sch: &Schedule, e: usize, col: Option<(&[usize], usize)>) -> u32 {
        let mut best = 0;
        self.each_row(grp, sch, e, col, |_, x| best = best.max(x));
        best
    }

    /// The rounds of each real row r of entry e, as `out(r, rounds)`, for column c of
    /// the window set with `slots` (None: an FC layer's one window).
    pub(super) fn each_row(
        &self,
        grp: &Group,
        sch: &Schedule,
        e: usize,
        col: Option<(&[usize], usize)>,
        mut out: impl FnMut(usize, u32),
    ) {
        let j = sch.kept_start.partition_point(|&s| s <= e) - 1;
        let t = sch.kept[e] as usize;
        let (lanes, steps, chunks, cp) =
            (sch.lanes, sch.steps, grp.b.chunks, grp.b.padded_channels());
        let cn = grp.array.columns;
        // The activation brick offset of step s in this column's window, None in the
        // padding.
        let act_at = |s: usize| -> Option<usize> {
            match col {
                None => Some(s * lanes),
                Some((slots, c)) => match slots[(s / chunks) * cn + c] {
                    PAD => None,
                    pos => Some(pos * cp + (s % chunks) * lanes),
                },
            }
        };
        let wterms = grp.weight_terms(self.w);
        let aterms = grp.act_terms(self.a);
        let (amasks, wmasks) = match self.serial {
            Operand::Act => (Some(grp.act_masks(self.te)), None),
            Operand::Weight => (None, Some(grp.weight_masks(self.te))),
        };
        let mut pending = Vec::with_capacity(lanes);
        for r in 0..sch.real_rows[j] {
            let f = j * sch.rows + r;
            pending.clear();
            let mut pair = |s: usize, l: usize| {
                let wi = (f * steps + s) * lanes + l;
                let ai = act_at(s).map(|o| o + l);
                let a_term = ai.map_or(0, |i| aterms[i]);
                pending.push(match self.serial {
                    Operand::Act => {
                        if self.lw[wterms[wi] as usize] == 0 {
                            0
                        } else {
                            ai.map_or(0, |i| amasks.expect("act masks")[i])
                        }
                    }
                    Operand::Weight => {
                        if self.la[a_term as usize] == 0 {
                            0
                        } else {
                            wmasks.expect("weight masks")[wi]
                        }
                    }
                });
            };
            let fixed = &sch.fixed[sch.at(j, t, r)..][..sch.words];
            for l in 0..lanes {
                if bit(fixed, l) {
                    pair(t, l);
                }
            }
            for (dt, m) in sch.into(j, t, r) {
                for l in 0..lanes {
                    if bit(m, l) {
                        pair(t + dt, l);
                    }
                }
            }
            out(r, rounds(&mut pending, self.bits));
        }
    }
}

/// Per (channel of the group, ky, kx) — index `ch·KH·KW + ky·KW + kx` — how many zero
/// weights of the group no kept step pairs in place: those of skipped zero lines and
/// those a promotion displaced. Busy lane-cycles leave them out (their slots cost
/// nothing), where a scheme's zero weights would otherwise cost a cycle factor.
///
/// A skipped step's nonzero weights were all moved out, so its zeros per lane are its
/// real rows less the promotions out of that lane.
///
/// `sums`: [`removed_sums`] if already counted.
pub fn removed_zeros(b: &super::operand::Bricks, sch: &Schedule, sums: Option<&[u64]>) -> Vec<u64> {
    let kk = b.kh * b.kw;
    let mut removed = vec![0u64; b.cg * kk];
    // Per step: the index of lane 0 (lane l adds l·KH·KW) and the lanes holding a
    // channel.
    let at: Vec<(usize, usize)> = (0..sch.steps)
        .map(|t| {
            let (ky, kx, k) = b.step(t);
            let c0 = k * b.lanes;
            (
                c0 * kk + ky * b.kw + kx,
                b.cg.saturating_sub(c0).min(b.lanes),
            )
        })
        .collect();
    let counted;
    let sum = match sums {
        Some(s) => s,
        None => {
            counted = removed_sums(sch);
            &counted
        }
    };
    let lanes = sch.lanes;
    for (t, &(i0, real)) in at.iter().enumerate() {
        for (l, &n) in sum[t * lanes..][..real].iter().enumerate() {
            removed[i0 + l * kk] += n;
        }
    }
    removed
}

/// Per (step, lane), at `t·lanes + l`, the zeros a schedule leaves out of the busy
/// lane-cycles, over every set (lanes past the channels counted too).
fn removed_sums(sch: &Schedule) -> Vec<u64> {
    let (lanes, w) = (sch.lanes, sch.words);
    // Per (step, lane): the zeros removed, over every set; lanes past the channels are
    // counted too and left out at the end.
    let mut sum = vec![0u64; sch.steps * lanes];
    let mut kept = vec![false; sch.steps];
    let mut bytes = vec![0u64; lanes.div_ceil(8)];
    for j in 0..sch.sets {
        kept.fill(false);
        for &t in sch.kept(j) {
            kept[t as usize] = true;
        }
        let rows = sch.real_rows[j];
        for t in 0..sch.steps {
            let base = sch.at(j, t, 0);
            let orig = &sch.orig[base..base + rows * w];
            let fixed = &sch.fixed[base..base + rows * w];
            let s = &mut sum[t * lanes..(t + 1) * lanes];
            if kept[t] {
                // Zeros displaced by promotions into their slots.
                lane_counts(
                    orig.iter().zip(fixed).map(|(&o, &f)| !o & !f),
                    w,
                    lanes,
                    &mut bytes,
                    |l, n| s[l] += n,
                );
            } else {
                // A skipped step: every real row's zeros (its weights all moved out).
                for x in s.iter_mut() {
                    *x += rows as u64;
                }
                lane_counts(orig.iter().copied(), w, lanes, &mut bytes, |l, n| s[l] -= n);
            }
        }
    }
    sum
}

/// Per lane below `lanes`, how many of the masks (`words` u64 per mask, one after the
/// other) have its bit set: `add(lane, count)`, counted eight lanes to a u64 (one byte
/// each, from [`EXPAND`]), 255 masks at a time. `bytes`: ⌈lanes/8⌉ words of room.
fn lane_counts(
    masks: impl Iterator<Item = u64>,
    words: usize,
    lanes: usize,
    bytes: &mut [u64],
    mut add: impl FnMut(usize, u64),
) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let groups = bytes.len();
    let mut flush = |bytes: &mut [u64]| {
        for (g, b) in bytes.iter_mut().enumerate() {
            if *b != 0 {
                for i in 0..8.min(lanes - g * 8) {
                    add(g * 8 + i, *b >> (8 * i) & 0xff);
                }
            }
            *b = 0;
        }
    };
    bytes.fill(0);
    let mut n = 0;
    for (i, m) in masks.enumerate() {
        let g0 = (i % words) * 8;
        for (g, b) in bytes[g0..(g0 + 8).min(groups)].iter_mut().enumerate() {
            *b += EXPAND[(m >> (8 * g) & 0xff) as usize] & ONES;
        }
        if i % words == words - 1 {
            n += 1;
            if n == 255 {
                flush(bytes);
                n = 0;
            }
        }
    }
    flush(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::PatternShape;
    use proptest::prelude::*;

    /// The schedule, and its promotions as made.
    fn sched(
        terms: &[u8],
        fg: usize,
        steps: usize,
        rows: usize,
        p: &Pattern,
    ) -> (Schedule, Vec<Move>) {
        let mut moves = Vec::new();
        let s = Schedule::build(terms, fg, steps, rows, p, Kind::best(p), Some(&mut moves));
        (s, moves)
    }

    fn pat(shape: PatternShape, h: u32, d: u32, lanes: usize, steps: usize) -> Pattern {
        Pattern::new(
            &WeightSchedule {
                shape,
                lookahead: h,
                lookaside: d,
            },
            lanes,
            steps,
        )
    }

    /// A buffer of one row from a picture: one string per step, one char per lane,
    /// `x` nonzero.
    fn one_row(steps: &[&str]) -> (Vec<u8>, usize, usize) {
        let lanes = steps[0].len();
        let terms = steps
            .iter()
            .flat_map(|s| s.chars().map(|c| (c == 'x') as u8))
            .collect();
        (terms, steps.len(), lanes)
    }

    #[test]
    fn a_zero_slot_takes_its_first_candidate_in_pattern_order() {
        // T(2,5) on 8 lanes: lane 3's candidates in order are (1,−1) (1,0) (1,1) (1,3)
        // (2,−2) (2,0) (2,2). Only (1,1) and (2,−2) hold weights (lanes 4 of step 1 and
        // 1 of step 2): lane 3 takes (1, +1) first.
        let (terms, steps, lanes) = one_row(&["xxx.xxxx", "....x...", ".x......"]);
        let p = pat(PatternShape::T, 2, 5, lanes, steps);
        let (_, moves) = sched(&terms, 1, steps, 1, &p);
        assert_eq!(
            moves[0],
            Move {
                t: 0,
                r: 0,
                l: 3,
                dt: 1,
                src: 4
            }
        );
    }

    #[test]
    fn each_pattern_takes_its_candidates_in_the_listed_order() {
        // One row, 16 lanes: step 0 full but lane 8; for each two consecutive
        // offsets of the pattern's order, only their two slots hold weights: lane 8
        // takes the first.
        use PatternShape::{L, T};
        for (shape, h, d) in [(L, 2, 5), (T, 2, 5), (T, 1, 6), (L, 4, 3), (T, 4, 3)] {
            let ws = WeightSchedule {
                shape,
                lookahead: h,
                lookaside: d,
            };
            let order = ws.offsets(u32::MAX);
            let steps = 1 + h as usize;
            let p = Pattern::new(&ws, 16, steps);
            for pair in order.windows(2) {
                let mut terms = vec![0u8; steps * 16];
                terms[..16].fill(1);
                terms[8] = 0;
                for &(dt, dl) in pair {
                    terms[dt as usize * 16 + (8 + dl) as usize] = 1;
                }
                let (_, moves) = sched(&terms, 1, steps, 1, &p);
                let (dt, dl) = pair[0];
                assert_eq!(
                    moves[0],
                    Move {
                        t: 0,
                        r: 0,
                        l: 8,
                        dt,
                        src: (8 + dl) as u32
                    },
                    "{ws} {pair:?}"
                );
            }
        }
    }

    #[test]
    fn the_drawn_example_of_the_docs() {
        // docs/weight-scheduling.md: one row of 4 lanes, 4 steps, T(2,2).
        //   step 0  a . b .        a c b e   kept
        //   step 1  . c . .   →    . · . .   skipped
        //   step 2  d . . e        d f . ·   kept
        //   step 3  . . f .        . . · .   skipped
        let (terms, steps, lanes) = one_row(&["x.x.", ".x..", "x..x", "..x."]);
        let p = pat(PatternShape::T, 2, 2, lanes, steps);
        assert_eq!(p.offsets, [(1, 3), (1, 0), (1, 1), (2, 0)]);
        let (s, moves) = sched(&terms, 1, steps, 1, &p);
        let mv = |t, l, dt, src| Move {
            t,
            r: 0,
            l,
            dt,
            src,
        };
        // c → lane 1 (offset (1, 0)), e → lane 3 (offset (2, 0)), f → lane 1 of
        // step 2 (offset (1, +1)).
        assert_eq!(moves, [mv(0, 1, 1, 1), mv(0, 3, 2, 3), mv(2, 1, 1, 2)]);
        assert_eq!(s.kept, [0, 2]);
    }

    #[test]
    fn the_slot_with_most_candidates_goes_first() {
        // L(1,2) on 4 lanes, one row: step 0 has zero lanes 0 and 2. Lane 0's
        // candidates: (1,−2) → lane 2, (1,−1) → lane 3, (1,0) → lane 0; lane 2's:
        // lanes 0, 1, 2. Step 1 ". x x ." : lane 0 has 1 (lane 2), lane 2 has 2 (lanes
        // 1, 2): lane 2 goes first and takes (1,−1) → lane 1; then lane 0 takes lane 2.
        let (terms, steps, lanes) = one_row(&[".x.x", ".xx."]);
        let p = pat(PatternShape::L, 1, 2, lanes, steps);
        let (_, moves) = sched(&terms, 1, steps, 1, &p);
        let mv = |l, src| Move {
            t: 0,
            r: 0,
            l,
            dt: 1,
            src,
        };
        assert_eq!(moves, [mv(2, 1), mv(0, 2)]);
    }

    #[test]
    fn promotion_wraps_around_the_lanes() {
        // L(1,1) on 4 lanes: lane 0's lookaside (1, −1) is lane 3 of the next step.
        let (terms, steps, lanes) = one_row(&[".xxx", "...x"]);
        let p = pat(PatternShape::L, 1, 1, lanes, steps);
        let (s, moves) = sched(&terms, 1, steps, 1, &p);
        assert_eq!(
            moves,
            [Move {
                t: 0,
                r: 0,
                l: 0,
                dt: 1,
                src: 3
            }]
        );
        // Step 1 is now a zero line and is skipped (z = 0 < h = 1).
        assert_eq!(s.kept, [0]);
    }

    #[test]
    fn run_of_n_zero_lines_keeps_n_div_h_plus_one() {
        for h in 1..=3u32 {
            for n in 0..=9usize {
                // A weight, then n zero lines with nothing after them to promote.
                let mut pic = vec!["x..."];
                pic.extend(std::iter::repeat_n("....", n));
                let (terms, steps, lanes) = one_row(&pic);
                let p = pat(PatternShape::L, h, 1, lanes, steps);
                let (s, moves) = sched(&terms, 1, steps, 1, &p);
                assert!(moves.is_empty());
                assert_eq!(s.kept.len() - 1, n / (h as usize + 1), "h {h} n {n}");
            }
        }
    }

    #[test]
    fn bit_transpose() {
        // Bit j of byte i set ⇔ bit i of byte j set after the transpose.
        let x: u64 = 0x8040_2010_0804_0201 ^ 0x0000_0000_0000_ff00;
        let y = transpose8(x);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(x >> (8 * i + j) & 1, y >> (8 * j + i) & 1, "{i} {j}");
            }
        }
    }

    #[test]
    fn duplicate_targets_after_wrapping_count_once() {
        // T(1,2) on 2 lanes: (1,−1) and (1,+1) both name the other lane.
        let p = pat(PatternShape::T, 1, 2, 2, 5);
        assert_eq!(p.offsets, [(1, 1), (1, 0)]);
    }

    fn draw(fg: usize, steps: usize, lanes: usize, density: f64, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..fg * steps * lanes)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (((s >> 11) as f64 / (1u64 << 53) as f64) < density) as u8
            })
            .collect()
    }

    proptest! {
        #[test]
        fn narrow_and_wide_schedulers_agree(
            fg in 1usize..=9, rows in 1usize..=4, steps in 1usize..=12,
            lanes in prop_oneof![2usize..=20, Just(16)],
            t_shape in any::<bool>(), h in 1u32..=4, d in 1u32..=12,
            density in 0.0f64..=1.0, seed in any::<u64>(),
        ) {
            let ws = WeightSchedule {
                shape: if t_shape { PatternShape::T } else { PatternShape::L },
                lookahead: h,
                lookaside: d,
            };
            prop_assume!(ws.check_lanes(lanes).is_ok());
            let terms = draw(fg, steps, lanes, density, seed);
            let p = Pattern::new(&ws, lanes, steps);
            let (mut m1, mut m2) = (Vec::new(), Vec::new());
            let narrow = Schedule::build(&terms, fg, steps, rows, &p, Kind::Sliced, Some(&mut m1));
            let wide = Schedule::build(&terms, fg, steps, rows, &p, Kind::Wide, Some(&mut m2));
            prop_assert_eq!(&m1, &m2);
            prop_assert_eq!(&narrow, &wide);
            if matches!(Kind::best(&p), Kind::Sixteen | Kind::Batch64) {
                let mut m3 = Vec::new();
                let sixteen = Schedule::build(&terms, fg, steps, rows, &p, Kind::Sixteen, Some(&mut m3));
                prop_assert_eq!(&m1, &m3);
                prop_assert_eq!(&narrow, &sixteen);
                if Kind::best(&p) == Kind::Batch64 {
                    let batch = Schedule::build(&terms, fg, steps, rows, &p, Kind::Batch64, None);
                    prop_assert_eq!(&narrow, &batch);
                }
            }
        }
        #[test]
        fn sixteen_lane_scheduler_agrees_with_the_narrow_one_on_many_rows(
            fg in 1usize..=160, rows in 1usize..=20, steps in 1usize..=10,
            t_shape in any::<bool>(), h in 1u32..=4, d in 1u32..=7,
            density in 0.0f64..=1.0, seed in any::<u64>(),
        ) {
            // Rows beyond one lock-step batch of the 16-lane scheduler, and a last
            // batch with fewer rows; for the 64-row one, several batches of 16-row
            // blocks, some sets' steps skipped as zero lines.
            let ws = WeightSchedule {
                shape: if t_shape { PatternShape::T } else { PatternShape::L },
                lookahead: h,
                lookaside: d,
            };
            let p = Pattern::new(&ws, 16, steps);
            prop_assume!(matches!(Kind::best(&p), Kind::Sixteen | Kind::Batch64));
            let terms = draw(fg, steps, 16, density, seed);
            let (mut m1, mut m2) = (Vec::new(), Vec::new());
            let narrow = Schedule::build(&terms, fg, steps, rows, &p, Kind::Sliced, Some(&mut m1));
            let sixteen = Schedule::build(&terms, fg, steps, rows, &p, Kind::Sixteen, Some(&mut m2));
            prop_assert_eq!(&m1, &m2);
            prop_assert_eq!(&narrow, &sixteen);
            // Without the log, the same schedule.
            let quiet = Schedule::build(&terms, fg, steps, rows, &p, Kind::Sixteen, None);
            prop_assert_eq!(&narrow, &quiet);
            if Kind::best(&p) == Kind::Batch64 {
                let (batch, sums) = batch::build(&terms, fg, steps, rows, &p);
                prop_assert_eq!(&narrow, &batch);
                prop_assert_eq!(sums, removed_sums(&narrow));
            }
        }

        #[test]
        fn fast_entries_equal_the_general_ones(
            fg in 1usize..=40, rows in 1usize..=20, steps in 1usize..=10,
            h in 1u32..=3, d in 1u32..=5, density in 0.0f64..=1.0, seed in any::<u64>(),
            lw0 in 0u8..=2, lw1 in 0u8..=3,
        ) {
            // 16 lanes, terms 0..=3: the word-skipping (one factor per nonzero) and the
            // term-count fast paths of Entries::new against the general one.
            let ws = WeightSchedule { shape: PatternShape::T, lookahead: h, lookaside: d };
            let p = Pattern::new(&ws, 16, steps);
            let mut terms = draw(fg, steps, 16, density, seed);
            for (i, x) in terms.iter_mut().enumerate() {
                *x *= 1 + ((i as u64 * 0x9e37_79b9) >> 7) as u8 % 3;
            }
            let sch = Schedule::new(&terms, fg, steps, rows, &p);
            let max_dt = sch.dts;
            let mut konst = [lw1; 256];
            konst[0] = lw0;
            let ident: [u8; 256] = std::array::from_fn(|i| i as u8);
            let empty = || Entries {
                lanes: 16,
                step: Vec::new(),
                start: vec![0],
                dt: Vec::new(),
                bricks: Vec::new(),
            };
            for lw in [konst, ident] {
                let fast = Entries::new(&sch, &terms, &lw);
                let mut general = empty();
                general.general(&sch, &terms, &lw, max_dt);
                prop_assert_eq!(&fast, &general);
                // The products of every entry at once, against one by one, on every path
                // this CPU has.
                let act: Vec<u8> = (0..steps * 16).map(|i| ((i * 37 + seed as usize) % 251) as u8).collect();
                let one: Vec<u32> = (0..fast.len()).map(|e| fast.product(e, &act)).collect();
                let mut all = vec![0u32; fast.len()];
                fast.products(&act, &mut all);
                prop_assert_eq!(&all, &one);
                #[cfg(target_arch = "x86_64")]
                {
                    fast.products16(&act, &mut all);
                    prop_assert_eq!(&all, &one);
                }
            }
            // The term-count entries on every path this CPU has.
            let mut sse = empty();
            sse.ident16_sse(&sch, &terms, max_dt);
            let mut general = empty();
            general.general(&sch, &terms, &ident, max_dt);
            prop_assert_eq!(&sse, &general);
        }
    }
}
