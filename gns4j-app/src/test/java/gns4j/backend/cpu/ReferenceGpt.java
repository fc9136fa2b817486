package gns4j.backend.cpu;

import gns4j.model.NormType;
import gns4j.model.ParamTensor;
import gns4j.model.ParameterLayout;

/**
 * An independent, deliberately naive double-precision forward pass of the same model (plain loops, one example at
 * a time, full attention matrix): the reference for finite differences and for the fp32 forward.
 */
final class ReferenceGpt extends ReferenceModel {
    ReferenceGpt(ParameterLayout layout) { super(layout); }

    @Override
    double exampleLoss(double[] w, int[] ids, int[] targets, int b, int T) {
        int C = c.nEmbd(), V = c.vocabSize();
        double[][] x = new double[T][C];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < C; i++)
                x[t][i] = w[p.wte.offset() + ids[b * T + t] * C + i] + w[p.wpe.offset() + t * C + i];
        for (ParameterLayout.Block blk : p.blocks) {
            double[][] h = norm(w, x, blk.ln1Weight(), blk.ln1Bias());
            double[][] qkv = linear(w, h, blk.qkvWeight(), blk.qkvBias());
            x = add(x, linear(w, attention(qkv, T), blk.attnProjWeight(), blk.attnProjBias()));
            double[][] f = linear(w, norm(w, x, blk.ln2Weight(), blk.ln2Bias()), blk.fcWeight(), blk.fcBias());
            for (double[] row : f) for (int i = 0; i < row.length; i++) row[i] = gelu(row[i]);
            x = add(x, linear(w, f, blk.mlpProjWeight(), blk.mlpProjBias()));
        }
        double[][] logits = linear(w, norm(w, x, p.lnfWeight, p.lnfBias), p.lmHead != null ? p.lmHead : p.wte, null);
        double loss = 0;
        for (int t = 0; t < T; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) max = Math.max(max, logits[t][v]);
            double sum = 0;
            for (int v = 0; v < V; v++) sum += Math.exp(logits[t][v] - max);
            loss += max + Math.log(sum) - logits[t][targets[b * T + t]];
        }
        return loss / T;
    }

    private double[][] norm(double[] w, double[][] x, ParamTensor gamma, ParamTensor beta) {
        int C = c.nEmbd();
        double[][] out = new double[x.length][C];
        for (int t = 0; t < x.length; t++) {
            double mean = 0, var = 0;
            if (c.norm() == NormType.LAYERNORM) {
                for (double v : x[t]) mean += v;
                mean /= C;
            }
            for (double v : x[t]) var += (v - mean) * (v - mean);
            double rstd = 1 / Math.sqrt(var / C + CpuKernels.NORM_EPS);
            for (int i = 0; i < C; i++)
                out[t][i] = (x[t][i] - mean) * rstd * w[gamma.offset() + i] + (beta == null ? 0 : w[beta.offset() + i]);
        }
        return out;
    }

    static double[][] linear(double[] w, double[][] x, ParamTensor weight, ParamTensor bias) {
        int N = weight.shape()[0], K = weight.shape()[1];
        double[][] out = new double[x.length][N];
        for (int t = 0; t < x.length; t++)
            for (int n = 0; n < N; n++) {
                double s = bias == null ? 0 : w[bias.offset() + n];
                for (int k = 0; k < K; k++) s += x[t][k] * w[weight.offset() + n * K + k];
                out[t][n] = s;
            }
        return out;
    }

    private double[][] attention(double[][] qkv, int T) {
        int C = c.nEmbd(), NH = c.nHead(), hs = C / NH;
        double[][] out = new double[T][C];
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                double[] a = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int u = 0; u <= t; u++) {
                    for (int i = 0; i < hs; i++) a[u] += qkv[t][h * hs + i] * qkv[u][C + h * hs + i];
                    a[u] /= Math.sqrt(hs);
                    max = Math.max(max, a[u]);
                }
                for (int u = 0; u <= t; u++) sum += (a[u] = Math.exp(a[u] - max));
                for (int u = 0; u <= t; u++)
                    for (int i = 0; i < hs; i++) out[t][h * hs + i] += a[u] / sum * qkv[u][2 * C + h * hs + i];
            }
        return out;
    }

    private static double gelu(double v) {
        return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    }

    static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][];
        for (int t = 0; t < a.length; t++) {
            out[t] = a[t].clone();
            for (int i = 0; i < out[t].length; i++) out[t][i] += b[t][i];
        }
        return out;
    }
}
