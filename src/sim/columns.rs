//! Column timing: how the per-column costs of successive sync units add up
//! (cycle-model.md, "Sync units and PE cost", last paragraph).
//!
//! With `column_registers = R`, a column may start unit u once every column has
//! finished unit u − 1 − R. R = 0 is the lock-step case: each unit then costs the max
//! over columns and the layer the sum of units — the same recurrence, since the
//! ready time of unit u is then the finish of unit u − 1.
//!
//! With R = 0 every column is free at or before the last finish, so each unit finishes
//! at the previous finish plus its max cost and the layer's cycles are the sum of those
//! maxima: `Columns` then keeps only that sum, and the loop nests may add whole runs of
//! units at once ([`Columns::add_lockstep`]).

use std::collections::VecDeque;

/// Where the loop nests send their sync units: [`Columns`], or a recorder in tests.
pub trait Units {
    /// True when only the sum over units of the max over columns counts; the loop
    /// nests may then call `add_lockstep` instead of `unit`.
    fn lockstep(&self) -> bool;
    /// Units whose maxima over columns sum to `cycles` (lockstep only).
    fn add_lockstep(&mut self, cycles: u64);
    /// One sync unit with per-column costs.
    fn unit(&mut self, cost: &[u32]);
    /// `count` identical units.
    fn repeat(&mut self, cost: &[u32], count: usize) {
        for _ in 0..count {
            self.unit(cost);
        }
    }
}

impl Units for Columns {
    fn lockstep(&self) -> bool {
        Columns::lockstep(self)
    }
    fn add_lockstep(&mut self, cycles: u64) {
        Columns::add_lockstep(self, cycles)
    }
    fn unit(&mut self, cost: &[u32]) {
        Columns::unit(self, cost)
    }
    fn repeat(&mut self, cost: &[u32], count: usize) {
        Columns::repeat(self, cost, count)
    }
}

/// Column state across the sync units of one layer (all of its groups).
#[derive(Clone, Debug)]
pub struct Columns {
    free: Vec<u64>,
    registers: usize,
    /// Finish times (max over columns) of the last R + 1 units (R > 0).
    finished: VecDeque<u64>,
    /// R = 0: the sum of the units' maxima.
    total: u64,
}

impl Columns {
    /// `columns` idle columns with `registers` column registers.
    pub fn new(columns: usize, registers: usize) -> Columns {
        Columns {
            free: vec![0; columns],
            registers,
            finished: VecDeque::with_capacity(registers + 2),
            total: 0,
        }
    }

    /// True with `column_registers = 0`: units cost the max over columns, and the
    /// layer their sum.
    #[inline]
    pub fn lockstep(&self) -> bool {
        self.registers == 0
    }

    /// With R = 0 only: add units whose maxima over columns sum to `cycles`.
    #[inline]
    pub fn add_lockstep(&mut self, cycles: u64) {
        debug_assert!(self.lockstep());
        self.total += cycles;
    }

    /// Run one sync unit with per-column costs.
    #[inline]
    pub fn unit(&mut self, cost: &[u32]) {
        if self.registers == 0 {
            self.total += cost.iter().copied().max().unwrap_or(0) as u64;
            return;
        }
        let ready = if self.finished.len() > self.registers {
            self.finished[0]
        } else {
            0
        };
        let mut finish = 0;
        for (f, &c) in self.free.iter_mut().zip(cost) {
            *f = (*f).max(ready) + c as u64;
            finish = finish.max(*f);
        }
        if self.finished.len() > self.registers {
            self.finished.pop_front();
        }
        self.finished.push_back(finish);
    }

    /// Run `count` identical units.
    pub fn repeat(&mut self, cost: &[u32], count: usize) {
        if self.registers == 0 {
            self.total += cost.iter().copied().max().unwrap_or(0) as u64 * count as u64;
        } else {
            for _ in 0..count {
                self.unit(cost);
            }
        }
    }

    /// Layer cycles: the latest column.
    pub fn cycles(&self) -> u64 {
        if self.registers == 0 {
            self.total
        } else {
            self.free.iter().copied().max().unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_step_sums_the_max_of_each_unit() {
        let mut c = Columns::new(3, 0);
        c.unit(&[1, 5, 2]);
        c.unit(&[4, 0, 1]);
        assert_eq!(c.cycles(), 9);
    }

    #[test]
    fn one_register_lets_columns_drift_one_unit() {
        // Unit 0: [1, 5]; unit 1: [5, 1] may start as soon as each column is free
        // (ready = finish of unit −1 = 0): col0 = 1 + 5 = 6, col1 = 5 + 1 = 6.
        // Unit 2: [1, 1], ready = finish of unit 0 = 5: col0 = max(5, 6) + 1 = 7, col1 = 7.
        let mut c = Columns::new(2, 1);
        c.unit(&[1, 5]);
        c.unit(&[5, 1]);
        assert_eq!(c.cycles(), 6);
        c.unit(&[1, 1]);
        assert_eq!(c.cycles(), 7);
    }

    /// The recurrence of the spec, literally, for any R.
    fn literal(columns: usize, regs: usize, units: &[Vec<u32>]) -> u64 {
        let mut free = vec![0u64; columns];
        let mut finish: Vec<u64> = vec![];
        for cost in units {
            let u = finish.len();
            let ready = if u > regs { finish[u - 1 - regs] } else { 0 };
            for (f, &c) in free.iter_mut().zip(cost) {
                *f = (*f).max(ready) + c as u64;
            }
            finish.push(*free.iter().max().unwrap());
        }
        free.into_iter().max().unwrap_or(0)
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_equal_the_recurrence(
            columns in 1usize..5,
            regs in 0usize..4,
            units in proptest::collection::vec(proptest::collection::vec(0u32..6, 4), 0..12),
            split in 0usize..12,
        ) {
            let units: Vec<Vec<u32>> = units.into_iter().map(|u| u[..columns].to_vec()).collect();
            let mut c = Columns::new(columns, regs);
            let split = split.min(units.len());
            for u in &units[..split] {
                c.unit(u);
            }
            if c.lockstep() {
                // The rest as one lump, as the loop nests add them.
                let rest: u64 = units[split..]
                    .iter()
                    .map(|u| *u.iter().max().unwrap() as u64)
                    .sum();
                c.add_lockstep(rest);
            } else {
                for u in &units[split..] {
                    c.unit(u);
                }
            }
            proptest::prop_assert_eq!(c.cycles(), literal(columns, regs, &units));
        }
    }

    #[test]
    fn repeat_equals_units() {
        for regs in 0..3 {
            let mut a = Columns::new(3, regs);
            let mut b = Columns::new(3, regs);
            a.unit(&[2, 0, 1]);
            b.unit(&[2, 0, 1]);
            a.repeat(&[1, 3, 0], 4);
            for _ in 0..4 {
                b.unit(&[1, 3, 0]);
            }
            a.unit(&[3, 1, 1]);
            b.unit(&[3, 1, 1]);
            assert_eq!(a.cycles(), b.cycles(), "registers {regs}");
        }
    }
}
