//! Splitting an amount over parts in proportion to weights, exactly: the largest-remainder
//! method. Each part gets ⌊total × wᵢ / Σw⌋, then the minor units left over go one each to
//! the parts with the largest remainders (ties to the earlier part). The parts always add up
//! to the total, no part moves by more than one minor unit from its exact share, and the
//! result is deterministic. Used for partial captures and refunds over a cart's sellers.

/// `None` if the weights are empty, negative, all zero, or the arithmetic would overflow.
pub fn allocate(total: i64, weights: &[i64]) -> Option<Vec<i64>> {
    if total < 0 || weights.is_empty() || weights.iter().any(|w| *w < 0) {
        return None;
    }
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum == 0 {
        return None;
    }
    let total = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total * i128::from(*w);
        parts.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let given: i128 = parts.iter().sum();
    let mut left = total - given;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| i64::try_from(p).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_stay_close() {
        assert_eq!(allocate(100, &[1, 1, 1]), Some(vec![34, 33, 33]));
        assert_eq!(allocate(40, &[6000, 4000]), Some(vec![24, 16]));
        assert_eq!(allocate(1, &[1, 1]), Some(vec![1, 0]));
        assert_eq!(allocate(0, &[5, 5]), Some(vec![0, 0]));
        assert_eq!(allocate(10, &[0, 3]), Some(vec![0, 10]));
        assert_eq!(allocate(10, &[]), None);
        assert_eq!(allocate(10, &[0, 0]), None);
        assert_eq!(allocate(-1, &[1]), None);
        let big = allocate(i64::MAX, &[i64::MAX, i64::MAX]).unwrap();
        assert_eq!(
            big.iter().map(|p| i128::from(*p)).sum::<i128>(),
            i128::from(i64::MAX)
        );
    }

    #[test]
    fn exhaustive_small_cases_sum_exactly() {
        for total in 0..60 {
            for a in 0..8 {
                for b in 0..8 {
                    for c in 1..8 {
                        let parts = allocate(total, &[a, b, c]).unwrap();
                        assert_eq!(parts.iter().sum::<i64>(), total);
                        let sum = a + b + c;
                        // |part − total·w/sum| < 1, in integers: |part·sum − total·w| < sum.
                        for (p, w) in parts.iter().zip([a, b, c]) {
                            assert!((p * sum - total * w).abs() < sum, "{total} {a} {b} {c}");
                        }
                    }
                }
            }
        }
    }
}
