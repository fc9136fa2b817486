/**
 * The gradient noise scale (GNS, McCandlish et al. 2018) from per-example and batch gradient norms.
 *
 * <ul>
 *   <li>{@link gns4j.gns.GnsEstimator}: the unbiased |G|² and tr(Σ) estimates of one batch, and B_simple;</li>
 *   <li>{@link gns4j.gns.GnsMeasurement}: the GNS over several batches of a fixed model, with a confidence interval
 *       and the number of batches that would halve it ({@link gns4j.gns.GnsResult});</li>
 *   <li>{@link gns4j.gns.GnsTracker}: the smoothed GNS of every parameter group during training, from per-tensor
 *       norms ({@link gns4j.gns.TrackedTensor}, {@link gns4j.gns.Ema}); {@link gns4j.gns.GroupedGnsMeasurement} is
 *       its counterpart over a fixed set of batches.</li>
 * </ul>
 */
package gns4j.gns;
