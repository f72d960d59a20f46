//! The reader allocates nothing a header claims before the file's real length confirms
//! it. A counting allocator records the largest single allocation while tiny files that
//! claim gigabytes are refused. (One test in this binary, so nothing else allocates
//! alongside it.)

mod largest_alloc;

use std::sync::atomic::Ordering;

use largest_alloc::LARGEST;

#[test]
fn headers_claiming_gigabytes_allocate_almost_nothing() {
    let files: [&str; 3] = [
        // A 10 GB int tensor that the geometry really implies.
        "MLTQ 1\nnetwork name=h\nlayer name=fc op=fc in=100000 out=100000\n\
         weights layer=fc shape=100000,100000 enc=int bits=8 data=0+10000000000\nend\n",
        // A 2.5 GB ternary tensor.
        "MLTQ 1\nnetwork name=h\nlayer name=fc op=fc in=100000 out=100000\n\
         weights layer=fc shape=100000,100000 enc=ternary levels=2 scale=tensor data=0+5000000000 scales=5000000000+8\nend\n",
        // A range that disagrees with the shape.
        "MLTQ 1\nnetwork name=h\nlayer name=fc op=fc in=4 out=2\n\
         weights layer=fc shape=2,4 enc=int bits=8 data=0+99999999999\nend\n",
    ];
    // The counter sees allocations at all.
    LARGEST.store(0, Ordering::Relaxed);
    let probe = std::hint::black_box(vec![1u8; 2 << 20]);
    assert!(LARGEST.load(Ordering::Relaxed) >= probe.len());
    drop(probe);

    let dir = tempfile::tempdir().unwrap();
    for (i, text) in files.iter().enumerate() {
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 64]);
        let path = dir.path().join(format!("h{i}.mltq"));
        std::fs::write(&path, &bytes).unwrap();

        LARGEST.store(0, Ordering::Relaxed);
        assert!(mltq::model::parse_bytes(&bytes, "h.mltq").is_err());
        let e = mltq::model::load(&path).unwrap_err().to_string();
        let largest = LARGEST.load(Ordering::Relaxed);
        assert!(
            largest < 1 << 20,
            "file {i}: an allocation of {largest} bytes ({e})"
        );
    }
}
