//! The keys service's operations in process: AES-256-GCM through a [`Keyring`] (random nonce,
//! envelope text included) next to the bare AEAD, Fernet, HMAC and Ed25519, at 1 KiB and
//! 16 KiB. Compare with `openssl speed -evp aes-256-gcm` on the same machine.
#![allow(missing_docs, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_crypto::{KeyMaterial, KeyType, Keyring};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

fn ring_of(key_type: KeyType) -> Keyring {
    Keyring::new(key_type, 1, [(1, KeyMaterial::generate().expect("rng"))]).expect("ring")
}

fn keys(c: &mut Criterion) {
    let aes = ring_of(KeyType::Aes256Gcm);
    let fernet = ring_of(KeyType::Fernet);
    let mac = ring_of(KeyType::HmacSha256);
    let signer = ring_of(KeyType::Ed25519);
    let bare = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("key"));
    for size in [1024usize, 16 * 1024] {
        let plaintext = vec![0xA5u8; size];
        let mut group = c.benchmark_group(format!("{}KiB", size / 1024));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function("aead_seal_bare", |b| {
            let mut buffer = plaintext.clone();
            b.iter(|| {
                buffer.clear();
                buffer.extend_from_slice(&plaintext);
                let tag = bare
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        &mut buffer,
                    )
                    .expect("seals");
                let _ = black_box(tag);
            })
        });
        group.bench_function("aes256gcm_encrypt", |b| {
            b.iter(|| black_box(aes.encrypt(black_box(&plaintext), None).expect("encrypts")))
        });
        let (ciphertext, _) = aes.encrypt(&plaintext, Some(b"ctx")).expect("encrypts");
        group.bench_function("aes256gcm_decrypt", |b| {
            b.iter(|| {
                black_box(
                    aes.decrypt(black_box(&ciphertext), Some(b"ctx"), None)
                        .expect("decrypts"),
                )
            })
        });
        group.bench_function("fernet_encrypt", |b| {
            b.iter(|| {
                black_box(
                    fernet
                        .encrypt(black_box(&plaintext), None)
                        .expect("encrypts"),
                )
            })
        });
        let (token, _) = fernet.encrypt(&plaintext, None).expect("encrypts");
        group.bench_function("fernet_decrypt", |b| {
            b.iter(|| {
                black_box(
                    fernet
                        .decrypt(black_box(&token), None, None)
                        .expect("decrypts"),
                )
            })
        });
        group.bench_function("hmac_sha256", |b| {
            b.iter(|| black_box(mac.hmac(black_box(&plaintext)).expect("hmac")))
        });
        group.bench_function("ed25519_sign", |b| {
            b.iter(|| black_box(signer.sign(black_box(&plaintext)).expect("signs")))
        });
        group.finish();
    }
}

criterion_group!(benches, keys);
criterion_main!(benches);
