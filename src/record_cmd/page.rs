//! Paging of `record list` over ListRecords, which has a limit but no
//! cursor.

use anyhow::bail;

/// The most records one ListRecords call returns.
const MOST_LISTED: u32 = 1000;

/// One page of `record list`: ListRecords has no cursor, only a limit of
/// at most 1000 newest-first records, so page N asks for the first
/// N × limit + 1 records and shows the last `limit` of them; the one extra
/// record tells whether more match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    page: u32,
    limit: u32,
}

impl Page {
    /// Page `page` (from 1) of `limit` records; an error when it starts
    /// beyond the newest 1000 records the hub lists.
    pub fn new(page: u32, limit: u32) -> anyhow::Result<Page> {
        let limit = limit.clamp(1, MOST_LISTED);
        let skipped = u64::from(page.max(1) - 1) * u64::from(limit);
        if skipped >= u64::from(MOST_LISTED) {
            bail!(
                "--page {page}: with --limit {limit} it starts after record {skipped}, but the hub lists only the newest {MOST_LISTED} matching records; narrow with --to (the day of the oldest record you have seen) or --from"
            );
        }
        Ok(Page {
            page: page.max(1),
            limit,
        })
    }

    /// How many records to ask for.
    pub fn fetch(&self) -> u32 {
        (u64::from(self.page) * u64::from(self.limit) + 1).min(u64::from(MOST_LISTED)) as u32
    }

    /// The records of this page out of the fetched ones, and a line saying
    /// whether more match and how to see them.
    pub fn cut<T: Listed>(&self, mut records: Vec<T>) -> (Vec<T>, Option<String>) {
        let fetched = records.len();
        let first = (self.page as usize - 1) * self.limit as usize;
        let end = (first + self.limit as usize).min(fetched);
        let shown: Vec<T> = if first < fetched {
            records.drain(first..end).collect()
        } else {
            Vec::new()
        };
        let range = format!("records {}–{}", first + 1, end);
        let line = if shown.is_empty() {
            (self.page > 1).then(|| format!("page {} is empty: {fetched} records match", self.page))
        } else if fetched > end {
            Some(format!(
                "showing {range}; more match: add --page {} for the next {}",
                self.page + 1,
                self.limit
            ))
        } else if fetched == MOST_LISTED as usize && fetched == end && self.fetch() == MOST_LISTED {
            // The hub's limit was reached: whether more match is unknown.
            let oldest = shown.last().map(Listed::day).unwrap_or_default();
            Some(format!(
                "showing {range}; more may match beyond the newest {MOST_LISTED} the hub lists: add --to {oldest} (records of that day show again)"
            ))
        } else {
            None
        };
        (shown, line)
    }
}

/// A listed record: its day, for the hint of [`Page::cut`].
pub trait Listed {
    /// `YYYY-MM-DD` of its creation.
    fn day(&self) -> String;
}

impl Listed for hedui_proto::v1::RecordSummary {
    fn day(&self) -> String {
        self.created_at.get(..10).unwrap_or_default().to_owned()
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    impl Listed for u32 {
        fn day(&self) -> String {
            format!("day{self}")
        }
    }

    fn list(n: u32) -> Vec<u32> {
        (1..=n).collect()
    }

    #[test]
    fn pages_say_when_more_match() {
        let p = Page::new(1, 2).unwrap();
        assert_eq!(p.fetch(), 3);
        assert_eq!(
            p.cut(list(3)),
            (
                vec![1, 2],
                Some("showing records 1–2; more match: add --page 2 for the next 2".into())
            )
        );
        assert_eq!(p.cut(list(2)), (vec![1, 2], None));
        let p2 = Page::new(2, 2).unwrap();
        assert_eq!(p2.fetch(), 5);
        assert_eq!(p2.cut(list(4)), (vec![3, 4], None));
        assert_eq!(p2.cut(list(3)), (vec![3], None));
        assert_eq!(
            p2.cut(list(2)),
            (vec![], Some("page 2 is empty: 2 records match".into()))
        );
        assert_eq!(Page::new(1, 5).unwrap().cut(Vec::<u32>::new()), (vec![], None));
    }

    #[test]
    fn the_hubs_limit_of_1000_is_said() {
        let p = Page::new(10, 100).unwrap();
        assert_eq!(p.fetch(), 1000);
        let (shown, line) = p.cut(list(1000));
        assert_eq!(shown.len(), 100);
        assert!(line.unwrap().contains("add --to day1000"));
        // Fewer than 1000: the end is known.
        assert_eq!(p.cut(list(950)).1, None);
        let p = Page::new(1, 1000).unwrap();
        assert!(p.cut(list(1000)).1.unwrap().contains("more may match"));
        let e = Page::new(11, 100).unwrap_err().to_string();
        assert!(e.starts_with("--page 11:") && e.contains("--to"), "{e}");
        assert_eq!(Page::new(1, 0).unwrap().fetch(), 2);
    }
}
