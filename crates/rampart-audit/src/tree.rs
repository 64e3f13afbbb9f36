//! RFC 6962 / RFC 9162 Merkle tree hashing, the compact range that extends a tree one leaf at a
//! time, and inclusion and consistency proofs with their verification.
//!
//! Proof generation reads hashes of complete subtrees through [`SubtreeSource`], so the same
//! code runs over a store's tiles, an in-memory list, or a recorder that plans which tiles to
//! fetch. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

use ring::digest;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// `SHA-256(0x00 || input)`.
pub fn leaf_hash(input: &[u8]) -> Hash {
    sha256(&[&[0], input])
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1], left, right])
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// Lowercase hex of a hash.
pub fn to_hex(hash: &Hash) -> String {
    let mut out = String::with_capacity(64);
    for byte in hash {
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

/// A hash from 64 hex digits.
pub fn from_hex(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees, as `(level, index)`, whose hashes make the root of a tree of `size`
/// leaves: one per set bit of `size`, largest first.
pub fn decomposition(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for level in (0..64u32).rev() {
        if size & (1 << level) != 0 {
            out.push((level, offset >> level));
            offset += 1 << level;
        }
    }
    out
}

/// The right edge of a tree: the hashes of the complete subtrees of [`decomposition`]. Enough to
/// append leaves and compute the root without reading anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// `(level, hash)`, largest subtree first.
    stack: Vec<(u32, Hash)>,
}

/// A complete subtree that an append finished: `(level, index, hash)`.
pub type CompletedSubtree = (u32, u64, Hash);

impl CompactRange {
    /// The empty tree.
    pub fn empty() -> Self {
        Self {
            size: 0,
            stack: Vec::new(),
        }
    }

    /// The range for `size` leaves from the hashes of its decomposition, in order.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let levels = decomposition(size);
        if levels.len() != hashes.len() {
            return None;
        }
        Some(Self {
            size,
            stack: levels.into_iter().map(|(l, _)| l).zip(hashes).collect(),
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; every complete subtree of level >= 1 that this finishes is passed
    /// to `completed` (for storage as tiles).
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(CompletedSubtree)) {
        let leaf_index = self.size;
        let mut level = 0u32;
        let mut hash = leaf;
        while let Some(&(top_level, top_hash)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&top_hash, &hash);
            level += 1;
            completed((level, leaf_index >> level, hash));
        }
        self.stack.push((level, hash));
        self.size += 1;
    }

    /// The root hash (RFC 6962 MTH of all leaves).
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, hash) in iter {
            acc = node_hash(hash, &acc);
        }
        acc
    }
}

/// Reads the hash of the complete subtree at `level` (0 = leaves) and `index`.
pub trait SubtreeSource {
    /// Why a hash could not be read.
    type Error;
    /// The hash of leaves `[index * 2^level, (index + 1) * 2^level)`.
    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// RFC 6962 MTH of leaves `[start, end)`, a node range of the tree (`end > start`).
pub fn range_hash<S: SubtreeSource>(
    source: &mut S,
    start: u64,
    end: u64,
) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return source.subtree(n.trailing_zeros(), start / n);
    }
    let k = split_point(n);
    let left = range_hash(source, start, start + k)?;
    let right = range_hash(source, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// Why a proof cannot be made for the requested sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofRangeError {
    /// `seq` is not below `tree_size`.
    #[error("leaf {seq} is not in a tree of size {tree_size}")]
    LeafOutOfRange {
        /// The leaf.
        seq: u64,
        /// The tree size.
        tree_size: u64,
    },
    /// `from` is not between 1 and `to`, or `to` exceeds the log.
    #[error("no consistency proof from size {from} to size {to}")]
    BadSizes {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
}

fn inclusion_path<S: SubtreeSource>(
    source: &mut S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < start + k {
        inclusion_path(source, m, start, start + k, out)?;
        out.push(range_hash(source, start + k, end)?);
    } else {
        inclusion_path(source, m, start + k, end, out)?;
        out.push(range_hash(source, start, start + k)?);
    }
    Ok(())
}

/// The RFC 9162 §2.1.3.1 inclusion path of leaf `seq` in the tree of `tree_size` leaves.
pub fn inclusion_proof<S: SubtreeSource>(
    source: &mut S,
    seq: u64,
    tree_size: u64,
) -> Result<Result<Vec<Hash>, ProofRangeError>, S::Error> {
    if seq >= tree_size {
        return Ok(Err(ProofRangeError::LeafOutOfRange { seq, tree_size }));
    }
    let mut out = Vec::new();
    inclusion_path(source, seq, 0, tree_size, &mut out)?;
    Ok(Ok(out))
}

fn subproof<S: SubtreeSource>(
    source: &mut S,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(range_hash(source, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(source, m, start, start + k, complete, out)?;
        out.push(range_hash(source, start + k, end)?);
    } else {
        subproof(source, m - k, start + k, end, false, out)?;
        out.push(range_hash(source, start, start + k)?);
    }
    Ok(())
}

/// The RFC 9162 §2.1.4.1 consistency proof between sizes `from` and `to` (`0 < from <= to`).
pub fn consistency_proof<S: SubtreeSource>(
    source: &mut S,
    from: u64,
    to: u64,
) -> Result<Result<Vec<Hash>, ProofRangeError>, S::Error> {
    if from == 0 || from > to {
        return Ok(Err(ProofRangeError::BadSizes { from, to }));
    }
    let mut out = Vec::new();
    if from < to {
        subproof(source, from, 0, to, true, &mut out)?;
    }
    Ok(Ok(out))
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    seq: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> bool {
    if seq >= tree_size {
        return false;
    }
    let mut fnode = seq;
    let mut snode = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    from: u64,
    to: u64,
    from_root: &Hash,
    to_root: &Hash,
    proof: &[Hash],
) -> bool {
    if from == 0 || from > to {
        return false;
    }
    if from == to {
        return proof.is_empty() && from_root == to_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if from.is_power_of_two() {
        path.insert(0, *from_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let mut fnode = from - 1;
    let mut snode = to - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *from_root && sr == *to_root && snode == 0
}

/// Complete-subtree hashes computed from a list of all leaf hashes (tests, small trees, and the
/// verifier, which holds every leaf anyway).
#[derive(Debug, Clone)]
pub struct LeafList<'a>(pub &'a [Hash]);

impl SubtreeSource for LeafList<'_> {
    type Error = std::convert::Infallible;

    fn subtree(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let width = 1usize << level;
        let start = usize::try_from(index)
            .unwrap_or(usize::MAX)
            .saturating_mul(width);
        let leaves = self
            .0
            .get(start..start.saturating_add(width))
            .unwrap_or_default();
        let mut layer: Vec<Hash> = leaves.to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks(2)
                .map(|p| match p {
                    [l, r] => node_hash(l, r),
                    [l] => *l,
                    _ => empty_root(),
                })
                .collect();
        }
        Ok(layer.first().copied().unwrap_or_else(empty_root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn compact_range_reports_completed_subtrees() {
        let mut range = CompactRange::empty();
        let mut completed = Vec::new();
        for leaf in leaves(8) {
            range.push(leaf, |c| completed.push((c.0, c.1)));
        }
        assert_eq!(
            completed,
            vec![(1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (2, 1), (3, 0)]
        );
        let all = leaves(8);
        assert_eq!(
            range.root(),
            range_hash(&mut LeafList(&all), 0, 8).unwrap_or_default()
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let h = leaf_hash(b"x");
        assert_eq!(from_hex(&to_hex(&h)), Some(h));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }
}
