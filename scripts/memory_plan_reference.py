"""Expected numbers for MemoryPlanFormulaTest: the bytes per sequence that gns4j-app's MemoryPlan documents, term by
term as its class comment lists them, for small shapes whose dimensions are distinct primes-ish (so a wrong
coefficient or operator anywhere changes the total).

Run: python3 scripts/memory_plan_reference.py
"""


def cpu_gpt2(T, C, L, V, H):
    floats = (L * (15 * T * C + 4 * T + H * T)  # per layer
              + (L + 1) * T * C                 # residual stream
              + T * C + 2 * T                   # final norm
              + T * V                           # logits
              + 14 * T * C                      # backward scratch
              + 4 * T * C)                      # packed rows of the widest Linear input (4C)
    return 4 * floats


def cuda_gpt2(T, C, L, V, H):
    tensors = 4 + 12 * L  # wte, wpe, ln_f weight and bias; per block 2 norms x 2 and 4 Linear layers x 2
    return (L * (32 * T * C + 16 * T + 4 * H * T) + 4 * (L + 1) * T * C + 2 * T * C + 8 * T + 2 * T * V + 12 * T
            + 20 * T * C + 4 * H * T + 24 * C + 8 * tensors)


def cpu_llama(T, C, L, V, H, F, kv):
    floats = (L * (7 * T * C + 3 * T * F + 2 * T + H * T) + (L + 1) * T * C + T * C + 2 * T + T * V
              + T * (2 * C + 2 * kv) + 5 * T * C + 3 * T * F + T * max(F, C))
    return 4 * floats


def cuda_llama(T, C, L, V, H, F, kv, tied):
    tensors = 2 + 9 * L + (0 if tied else 1)  # token table, final norm; per block 2 norms and 7 weights; the head
    q = C + 2 * kv  # the fused q|k|v width
    return (L * (10 * T * C + 8 * T + 2 * T * q + 4 * H * T + 6 * T * F)  # per layer
            + 4 * (L + 1) * T * C                                          # residual stream
            + 2 * T * C + 4 * T                                            # final norm
            + 2 * T * V + 12 * T                                           # logits; losses and ids
            + 12 * T * C + 4 * H * T + 2 * T * max(2 * F, q) + 2 * T * F   # backward
            + 8 * C + 8 * tensors)                                         # per-example partial sums and norms


if __name__ == "__main__":
    # GPT-2: T=11 C=14 L=3 V=97 H=2;  Llama: T=11 C=16 L=3 V=97 H=4, n_kv_head 2 (kv 8), F=40 and F=8 (< C)
    print("gpt2 cpu", cpu_gpt2(11, 14, 3, 97, 2))
    print("gpt2 cuda", cuda_gpt2(11, 14, 3, 97, 2))
    print("llama cpu F=40", cpu_llama(11, 16, 3, 97, 4, 40, 8))
    print("llama cpu F=8", cpu_llama(11, 16, 3, 97, 4, 8, 8))
    print("llama cuda F=40", cuda_llama(11, 16, 3, 97, 4, 40, 8, False))
    print("llama cuda F=8", cuda_llama(11, 16, 3, 97, 4, 8, 8, False))
