//! The allocator a Rust plugin runs with inside its component: small
//! blocks from per-size free lists, everything else from the standard
//! allocator (dlmalloc on wasm32-wasip2).
//!
//! A plugin that reads objects as `serde_json::Value` and emits a finding
//! per object and check allocates and frees millions of small blocks (map
//! nodes, keys, strings of findings), and dlmalloc's bookkeeping for each of
//! them was a third of pod-security's run. Here a block of up to
//! [`SMALL`] bytes is one of 32 sizes; a freed block goes onto its size's
//! list and is handed out again as is, and new ones are cut from 64 KiB
//! chunks. Small blocks are never given back to dlmalloc, so the memory held
//! is at most what the plugin once held at the same time, per size.
//!
//! A component has one thread (wasm32-wasip2 has no threads), which is what
//! makes the unsynchronised lists sound: a [`SmallBlocks`] can be made only
//! where that holds, and `export_plugin!` installs one there.

#![allow(unsafe_code)] // an allocator is unsafe code by its nature: kept to this file

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Block sizes are multiples of this, and every small block is aligned to it.
const GRAIN: usize = 16;
/// The largest block served from the lists.
pub const SMALL: usize = 512;
const SIZES: usize = SMALL / GRAIN;
/// What is taken from the standard allocator when the blocks run out.
const CHUNK: usize = 64 * 1024;

/// The size class of a small layout (`None`: the standard allocator's).
fn class(layout: Layout) -> Option<usize> {
    (layout.size() <= SMALL && layout.align() <= GRAIN).then(|| layout.size().max(1).div_ceil(GRAIN) - 1)
}

struct Lists {
    /// The head of each size's list of free blocks; a free block holds the
    /// next one's address in its first word.
    free: [*mut u8; SIZES],
    /// The unused rest of the newest chunk.
    next: *mut u8,
    end: *mut u8,
}

/// The global allocator of a plugin's component. See the module docs.
pub struct SmallBlocks {
    lists: UnsafeCell<Lists>,
}

// SAFETY: constructed only for a target without threads (see `new`), where
// no two calls can overlap.
unsafe impl Sync for SmallBlocks {}

impl SmallBlocks {
    /// Only for a target without threads: the lists are not locked (and so
    /// no `Default`, which would not carry the condition).
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> SmallBlocks {
        SmallBlocks::empty()
    }

    #[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
    const fn empty() -> SmallBlocks {
        SmallBlocks { lists: UnsafeCell::new(Lists { free: [ptr::null_mut(); SIZES], next: ptr::null_mut(), end: ptr::null_mut() }) }
    }

    /// # Safety
    /// No other call on `self` may run at the same time.
    #[allow(clippy::mut_from_ref)]
    unsafe fn lists(&self) -> &mut Lists {
        unsafe { &mut *self.lists.get() }
    }
}

unsafe impl GlobalAlloc for SmallBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else { return unsafe { System.alloc(layout) } };
        let lists = unsafe { self.lists() };
        let head = lists.free[c];
        if !head.is_null() {
            lists.free[c] = unsafe { head.cast::<*mut u8>().read() };
            return head;
        }
        let size = (c + 1) * GRAIN;
        if (lists.end as usize) - (lists.next as usize) < size {
            // The rest of the old chunk (under SMALL bytes) is left unused.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, GRAIN)) };
            if chunk.is_null() {
                return chunk;
            }
            lists.next = chunk;
            lists.end = unsafe { chunk.add(CHUNK) };
        }
        let block = lists.next;
        lists.next = unsafe { block.add(size) };
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else { return unsafe { System.dealloc(block, layout) } };
        let lists = unsafe { self.lists() };
        unsafe { block.cast::<*mut u8>().write(lists.free[c]) };
        lists.free[c] = block;
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if class(layout).is_none() {
            return unsafe { System.alloc_zeroed(layout) };
        }
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            // The block is already that size.
            (Some(a), Some(b)) if a == b => block,
            _ => {
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_their_class_and_large_or_aligned_go_to_the_system() {
        let at = |size, align| class(Layout::from_size_align(size, align).unwrap());
        assert_eq!((at(0, 1), at(1, 1), at(16, 8), at(17, 8), at(512, 16)), (Some(0), Some(0), Some(0), Some(1), Some(31)));
        assert_eq!((at(513, 1), at(64, 32)), (None, None));
    }

    #[test]
    fn blocks_are_reused_by_size_and_keep_their_contents_when_moved() {
        // One thread uses it: the test's own.
        let a = SmallBlocks::empty();
        unsafe {
            let l24 = Layout::from_size_align(24, 8).unwrap();
            let x = a.alloc(l24);
            let y = a.alloc(l24);
            assert!(!x.is_null() && !y.is_null() && x != y);
            assert_eq!(x as usize % GRAIN, 0);
            a.dealloc(x, l24);
            // The freed block of that size comes back first; another size
            // gets a block of its own.
            let l100 = Layout::from_size_align(100, 4).unwrap();
            let z = a.alloc(l100);
            assert!(z != x && z != y);
            assert_eq!(a.alloc(l24), x);
            // Growing within the class keeps the block; past it moves the
            // bytes, to a large block too, and back.
            x.copy_from_nonoverlapping(b"0123456789abcdefghijklmn".as_ptr(), 24);
            assert_eq!(a.realloc(x, l24, 30), x);
            let big = a.realloc(x, Layout::from_size_align(30, 8).unwrap(), 4000);
            assert_eq!(std::slice::from_raw_parts(big, 24), b"0123456789abcdefghijklmn");
            let small = a.realloc(big, Layout::from_size_align(4000, 8).unwrap(), 10);
            assert_eq!(std::slice::from_raw_parts(small, 10), b"0123456789");
            let zeroed = a.alloc_zeroed(l100);
            assert!(std::slice::from_raw_parts(zeroed, 100).iter().all(|b| *b == 0));
            // Many blocks: new chunks are taken as each runs out, and no
            // two live blocks overlap.
            let mut live: Vec<usize> = (0..10_000).map(|_| a.alloc(l100) as usize).collect();
            live.sort();
            assert!(live.windows(2).all(|w| w[1] - w[0] >= 112), "blocks overlap");
        }
    }

    /// Random allocations, frees and reallocations of every size around
    /// the small limit, each block filled with its own byte and checked
    /// before it is freed or moved: a block handed out twice, or bytes lost
    /// in a move, show up as a wrong byte.
    #[test]
    fn random_use_never_hands_out_a_live_block_or_loses_bytes() {
        // One thread uses it: the test's own.
        let a = SmallBlocks::empty();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let check = |p: *mut u8, size: usize, fill: u8| unsafe { std::slice::from_raw_parts(p, size).iter().all(|b| *b == fill) };
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        for step in 0..200_000 {
            let fill = (step % 251) as u8;
            match random(3) {
                0 | 1 if live.len() < 5_000 => {
                    let layout = Layout::from_size_align(random(SMALL + 200), [1, 2, 4, 8, 16][random(5)]).unwrap();
                    let p = unsafe { if random(4) == 0 { a.alloc_zeroed(layout) } else { a.alloc(layout) } };
                    assert_eq!(p as usize % layout.align(), 0);
                    unsafe { p.write_bytes(fill, layout.size()) };
                    live.push((p, layout, fill));
                }
                2 if !live.is_empty() && random(2) == 0 => {
                    let (p, layout, old) = live.swap_remove(random(live.len()));
                    assert!(check(p, layout.size(), old), "step {step}: a block changed while it was live");
                    let new_size = random(SMALL + 200);
                    let q = unsafe { a.realloc(p, layout, new_size) };
                    assert!(check(q, layout.size().min(new_size), old), "step {step}: bytes lost in a move");
                    unsafe { q.write_bytes(fill, new_size) };
                    live.push((q, Layout::from_size_align(new_size, layout.align()).unwrap(), fill));
                }
                _ if !live.is_empty() => {
                    let (p, layout, old) = live.swap_remove(random(live.len()));
                    assert!(check(p, layout.size(), old), "step {step}: a block changed while it was live");
                    unsafe { a.dealloc(p, layout) };
                }
                _ => {}
            }
        }
        for (p, layout, fill) in live {
            assert!(check(p, layout.size(), fill));
        }
    }
}
