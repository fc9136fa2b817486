package gns4j.model;

/**
 * The block architecture. GPT-2: learned positions, LayerNorm (or RMSNorm), a fused qkv projection, GELU MLP.
 * Llama: no position table but RoPE on q and k, grouped-query attention, RMSNorm with a gain only, SwiGLU MLP, no
 * biases.
 */
public enum Arch {
    GPT2, LLAMA
}
