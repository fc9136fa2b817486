/**
 * Gradient noise scale math: the unbiased estimators of |G|² and tr(Σ) from per-example and batch gradient norms,
 * their bias-corrected moving average and per-group tracker, and the GNS over several batches with a confidence
 * interval. Everything public is in {@link gns4j.gns}.
 */
module gns4j.core {
    exports gns4j.gns;
}
