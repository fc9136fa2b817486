package gns4j.measure;

/**
 * The per-example gradient norms of one measured example (one window of the token file).
 *
 * @param batch     index of the measured batch, from 0
 * @param index     position of the example in its batch, from 0
 * @param offset    token offset of the example's first input token in the token file (its targets are the next
 *                  block_size tokens)
 * @param normTotal |g_b| over all parameters, g_b the gradient of the example's own mean token loss
 * @param normLn    |g_b| over the normalisation layers' γ/β only
 */
public record ExampleNorm(int batch, int index, long offset, double normTotal, double normLn) {}
