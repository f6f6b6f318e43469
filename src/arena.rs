//! The allocator of one-shot commands. `helmdeck render` makes and drops some 200,000 small
//! values in 20 ms and exits; glibc's malloc and free were a quarter of its time. Once
//! [`for_one_shot`] is called, memory comes from one reserved region by moving a pointer, and
//! freeing it does nothing (the process is about to exit, and the vendor chart's render asks
//! for 20 MB in all). What the region cannot hold, and whatever was allocated before, goes to
//! the system allocator as usual. Long-running commands (the app, the simulator) never turn
//! it on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Address space reserved; pages are committed only as they are first written.
const RESERVE: usize = 1 << 30;

/// The system allocator, or the bump region once a one-shot command turned it on.
pub struct Allocator;

/// Start of the region (0 while off) and the next free byte in it.
static BASE: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Serves the rest of this process's allocations from the bump region. Call it once, from a
/// command that ends soon after; without the region (mmap refused) nothing changes.
pub fn for_one_shot() {
    if BASE.load(Ordering::Acquire) != 0 {
        return;
    }
    // SAFETY: a fresh private anonymous mapping, touched by no one else; NORESERVE so the
    // reservation costs no memory until used.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            RESERVE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return;
    }
    // Large pages where the kernel offers them: the region is written once, front to back,
    // and a fault per 4 KiB page cost more than the allocations saved.
    // SAFETY: advice on the mapping just made; refusal changes nothing.
    unsafe { libc::madvise(p, RESERVE, libc::MADV_HUGEPAGE) };
    NEXT.store(p as usize, Ordering::Relaxed);
    BASE.store(p as usize, Ordering::Release);
}

fn in_region(p: *mut u8) -> bool {
    let base = BASE.load(Ordering::Acquire);
    base != 0 && (p as usize) >= base && (p as usize) < base + RESERVE
}

/// Each thread carves its small blocks from a slice of the region of its own, so a block
/// costs no atomic operation.
const SLICE: usize = 256 << 10;
/// Blocks from this size up are carved from the region directly.
const LARGE: usize = 16 << 10;

thread_local! {
    /// This thread's slice: the next free byte and the end.
    static SLICE_AT: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// `layout` carved from this thread's slice (a new slice when it is used up), or null when
/// the region is off or full.
fn bump(layout: Layout) -> *mut u8 {
    if layout.size() >= LARGE || BASE.load(Ordering::Relaxed) == 0 {
        return carve(layout);
    }
    SLICE_AT
        .try_with(|at| {
            let (next, end) = at.get();
            let start = (next + layout.align() - 1) & !(layout.align() - 1);
            if next != 0 && start + layout.size() <= end {
                at.set((start + layout.size(), end));
                return start as *mut u8;
            }
            // SAFETY: a valid layout (SLICE is a power-of-two multiple of any small alignment).
            let slice = carve(unsafe { Layout::from_size_align_unchecked(SLICE, 4096) });
            if slice.is_null() {
                return carve(layout);
            }
            let start = slice as usize;
            at.set((start + layout.size(), start + SLICE));
            slice
        })
        .unwrap_or_else(|_| carve(layout))
}

/// `layout` carved from the region itself, or null when it is off or full.
fn carve(layout: Layout) -> *mut u8 {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 {
        return std::ptr::null_mut();
    }
    let mut cur = NEXT.load(Ordering::Relaxed);
    loop {
        let start = (cur + layout.align() - 1) & !(layout.align() - 1);
        let Some(end) = start
            .checked_add(layout.size())
            .filter(|e| *e <= base + RESERVE)
        else {
            return std::ptr::null_mut();
        };
        match NEXT.compare_exchange_weak(cur, end, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return start as *mut u8,
            Err(now) => cur = now,
        }
    }
}

// SAFETY: every pointer handed out is either the system allocator's (and returned to it) or
// a disjoint, suitably aligned range of the region that is never handed out again.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = bump(layout);
        if p.is_null() {
            // SAFETY: the caller's layout, passed on unchanged.
            unsafe { System.alloc(layout) }
        } else {
            p
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The region's pages are fresh from the kernel (zero) and never reused.
        let p = bump(layout);
        if p.is_null() {
            // SAFETY: as in `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        } else {
            p
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if !in_region(p) {
            // SAFETY: it came from the system allocator with this layout.
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_region(p) {
            // SAFETY: it came from the system allocator with this layout.
            return unsafe { System.realloc(p, layout, new_size) };
        }
        // The last block of this thread's slice, or of the region, grows (or shrinks) where
        // it is.
        let end = p as usize + layout.size();
        let base = BASE.load(Ordering::Acquire);
        let grown_in_slice = SLICE_AT
            .try_with(|at| {
                let (next, slice_end) = at.get();
                let fits = next == end && p as usize + new_size <= slice_end;
                if fits {
                    at.set((p as usize + new_size, slice_end));
                }
                fits
            })
            .unwrap_or(false);
        if grown_in_slice {
            return p;
        }
        if let Some(new_end) = (p as usize)
            .checked_add(new_size)
            .filter(|e| *e <= base + RESERVE)
            && NEXT
                .compare_exchange(end, new_end, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return p;
        }
        // SAFETY: the caller guarantees new_size, rounded to the alignment, fits an isize.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a fresh block for the new layout.
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are live and disjoint; the shorter length is copied.
            unsafe { std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size)) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_disjoint_and_the_last_one_grows_in_place() {
        for_one_shot();
        let a = Allocator;
        let l = Layout::from_size_align(24, 8).unwrap();
        // SAFETY: layouts are non-zero; each block is used within its size and freed once.
        unsafe {
            let p = a.alloc(l);
            let q = a.alloc(Layout::from_size_align(100, 64).unwrap());
            assert!(in_region(p) && in_region(q));
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 24, "disjoint");
            q.write_bytes(7, 100);
            let grown = a.realloc(q, Layout::from_size_align(100, 64).unwrap(), 4000);
            assert_eq!(grown, q, "the last block grows where it is");
            assert_eq!(*grown.add(99), 7);
            // An earlier block moves, keeping its bytes.
            p.write_bytes(3, 24);
            let moved = a.realloc(p, l, 48);
            assert_ne!(moved, p);
            assert_eq!(*moved.add(23), 3);
            let z = a.alloc_zeroed(Layout::from_size_align(64, 8).unwrap());
            assert!((0..64).all(|i| *z.add(i) == 0));
            a.dealloc(moved, Layout::from_size_align(48, 8).unwrap());
            // A large block comes from the region itself; small ones fill a fresh slice
            // when this thread's is used up.
            let big = Layout::from_size_align(LARGE, 8).unwrap();
            let b = a.alloc(big);
            assert!(in_region(b));
            let mut last = a.alloc(l) as usize;
            for _ in 0..(SLICE / 24 + 1) {
                let next = a.alloc(l) as usize;
                assert!(in_region(next as *mut u8));
                assert!(next >= last + 24 || next < last, "blocks never overlap");
                last = next;
            }
            // Memory from before the region is the system's, and goes back to it.
            let outside = System.alloc(l);
            assert!(!in_region(outside));
            a.dealloc(outside, l);
        }
    }
}
