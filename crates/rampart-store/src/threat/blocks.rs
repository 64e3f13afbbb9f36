//! Blocks, their history and exemptions. A block's target is an address or a network; an
//! address is covered by its own row or by a network's, and networks are few (operators make
//! them), so the networks in force are loaded and checked with [`BlockTarget::covers`].

use std::net::IpAddr;

use rampart_threat::{Block, BlockTarget};
use time::OffsetDateTime;

use super::{begin_write, unsigned};
use crate::codec::{from_micros, micros};
use crate::with_pool;
use crate::{Store, StoreError};

/// A block row: target, reason, blocked_at, expires_at, failures, manual.
type BlockRow = (String, String, i64, i64, i64, bool);

const BLOCK_COLUMNS: &str = "target, reason, blocked_at, expires_at, failures, manual";

/// $1 the address's target text, $2 now: its own block and every network's, in force.
const COVERING_SQL: &str = "SELECT target, reason, blocked_at, expires_at, failures, manual
      FROM threat_blocks WHERE target = $1 AND blocked_at <= $2 AND expires_at > $2
    UNION ALL
    SELECT target, reason, blocked_at, expires_at, failures, manual
      FROM threat_blocks WHERE network AND blocked_at <= $2 AND expires_at > $2";

fn target(text: &str, what: &'static str) -> Result<BlockTarget, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt { what })
}

fn block(row: BlockRow) -> Result<Block, StoreError> {
    let (target_text, reason, blocked_at, expires_at, failures, manual) = row;
    Ok(Block {
        target: target(&target_text, "threat_blocks.target")?,
        reason,
        blocked_at: from_micros(blocked_at, "threat_blocks.blocked_at")?,
        expires_at: from_micros(expires_at, "threat_blocks.expires_at")?,
        failures: unsigned(failures, "threat_blocks.failures")?,
        manual,
    })
}

/// Whether a target is a network rather than one address.
fn is_network(target: &BlockTarget) -> bool {
    let net = target.net();
    net.prefix_len() < net.max_prefix_len()
}

impl Store {
    /// Blocks in force at `now`, soonest to expire first, at most `limit`.
    pub(super) async fn blocks_in_force(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Block>, StoreError> {
        let at = micros(now)?;
        let sql = format!(
            "SELECT {BLOCK_COLUMNS} FROM threat_blocks WHERE blocked_at <= $1 AND expires_at > $1
             ORDER BY expires_at, target LIMIT $2"
        );
        let rows: Vec<BlockRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(at)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(block).collect()
    }

    /// Stores a block (replacing the target's) and adds it to the history, in one transaction.
    pub(super) async fn put_block(&self, block: &Block) -> Result<(), StoreError> {
        let target = block.target.to_string();
        let network = is_network(&block.target);
        let blocked_at = micros(block.blocked_at)?;
        let expires_at = micros(block.expires_at)?;
        let failures = i64::try_from(block.failures).unwrap_or(i64::MAX);
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            sqlx::query(
                "INSERT INTO threat_blocks
                     (target, network, reason, blocked_at, expires_at, failures, manual)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (target) DO UPDATE SET network = excluded.network,
                     reason = excluded.reason, blocked_at = excluded.blocked_at,
                     expires_at = excluded.expires_at, failures = excluded.failures,
                     manual = excluded.manual",
            )
            .bind(&target)
            .bind(network)
            .bind(&block.reason)
            .bind(blocked_at)
            .bind(expires_at)
            .bind(failures)
            .bind(block.manual)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO threat_block_history (target, blocked_at, manual) VALUES ($1, $2, $3)",
            )
            .bind(&target)
            .bind(blocked_at)
            .bind(block.manual)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes the block of exactly `target`, in force or not; the block removed.
    pub(super) async fn remove_block(
        &self,
        target: &BlockTarget,
    ) -> Result<Option<Block>, StoreError> {
        let sql = format!("DELETE FROM threat_blocks WHERE target = $1 RETURNING {BLOCK_COLUMNS}");
        let row: Option<BlockRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(target.to_string())
                .fetch_optional(pool)
                .await?
        });
        row.map(block).transpose()
    }

    /// Removes the block of `target`, forgets the failures of what it covers and exempts it
    /// until `exempt_until`, in one transaction. A network's failures are those of the
    /// addresses it covers: failures are kept a day, so their distinct addresses are few
    /// enough to check here.
    pub(super) async fn lift(
        &self,
        target: &BlockTarget,
        exempt_until: OffsetDateTime,
    ) -> Result<Option<Block>, StoreError> {
        let text = target.to_string();
        let until = micros(exempt_until)?;
        let delete =
            format!("DELETE FROM threat_blocks WHERE target = $1 RETURNING {BLOCK_COLUMNS}");
        let row: Option<BlockRow> = with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let row = sqlx::query_as(sqlx::AssertSqlSafe(delete.clone()))
                .bind(&text)
                .fetch_optional(&mut *tx)
                .await?;
            let addresses: Vec<String> = if is_network(target) {
                let seen: Vec<(String,)> =
                    sqlx::query_as("SELECT DISTINCT address FROM threat_failures")
                        .fetch_all(&mut *tx)
                        .await?;
                seen.into_iter()
                    .map(|(address,)| address)
                    .filter(|address| {
                        address
                            .parse::<IpAddr>()
                            .is_ok_and(|address| target.covers(address))
                    })
                    .collect()
            } else {
                vec![text.clone()]
            };
            for address in &addresses {
                sqlx::query("DELETE FROM threat_failures WHERE address = $1")
                    .bind(address)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO threat_exemptions (target, exempt_until) VALUES ($1, $2)
                 ON CONFLICT (target) DO UPDATE SET exempt_until = excluded.exempt_until",
            )
            .bind(&text)
            .bind(until)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            row
        });
        row.map(block).transpose()
    }

    /// The block in force at `now` covering `address` (its own or a network's), the one
    /// ending last when several do.
    pub(super) async fn block_covering(
        &self,
        address: IpAddr,
        now: OffsetDateTime,
    ) -> Result<Option<Block>, StoreError> {
        let own = BlockTarget::address(address).to_string();
        let at = micros(now)?;
        let rows: Vec<BlockRow> = with_pool!(self, pool => {
            sqlx::query_as(COVERING_SQL)
                .bind(&own)
                .bind(at)
                .fetch_all(pool)
                .await?
        });
        let mut found: Option<Block> = None;
        for row in rows {
            let candidate = block(row)?;
            if candidate.target.covers(address)
                && found
                    .as_ref()
                    .is_none_or(|best| candidate.expires_at > best.expires_at)
            {
                found = Some(candidate);
            }
        }
        Ok(found)
    }

    /// How many automatic blocks of `address` began at or after `since`.
    pub(super) async fn automatic_blocks_since(
        &self,
        address: IpAddr,
        since: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let own = BlockTarget::address(address).to_string();
        let (count,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) FROM threat_block_history
                 WHERE target = $1 AND blocked_at >= $2 AND NOT manual",
            )
            .bind(&own)
            .bind(micros(since)?)
            .fetch_one(pool)
            .await?
        });
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Until when `address` is exempt from automatic blocks: the latest exemption of the
    /// address itself or of a lifted network covering it.
    pub(super) async fn exemption_of(
        &self,
        address: IpAddr,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let own = BlockTarget::address(address).to_string();
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT target, exempt_until FROM threat_exemptions
                 WHERE target = $1 OR target LIKE '%/%'",
            )
            .bind(&own)
            .fetch_all(pool)
            .await?
        });
        let mut latest = None;
        for (text, until) in rows {
            if target(&text, "threat_exemptions.target")?.covers(address) {
                let until = from_micros(until, "threat_exemptions.exempt_until")?;
                latest = latest.max(Some(until));
            }
        }
        Ok(latest)
    }
}
