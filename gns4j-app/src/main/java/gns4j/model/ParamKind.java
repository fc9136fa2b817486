package gns4j.model;

/** What a parameter tensor is; drives per-type GNS grouping and weight decay. */
public enum ParamKind {
    TOKEN_EMBEDDING(Group.EMBEDDING, true),
    POSITION_EMBEDDING(Group.EMBEDDING, true),
    NORM_WEIGHT(Group.NORM, false),
    NORM_BIAS(Group.NORM, false),
    ATTN_QKV_WEIGHT(Group.ATTN_QKV, true),
    ATTN_QKV_BIAS(Group.ATTN_QKV, false),
    ATTN_PROJ_WEIGHT(Group.ATTN_PROJ, true),
    ATTN_PROJ_BIAS(Group.ATTN_PROJ, false),
    MLP_IN_WEIGHT(Group.MLP_IN, true),
    MLP_IN_BIAS(Group.MLP_IN, false),
    MLP_OUT_WEIGHT(Group.MLP_OUT, true),
    MLP_OUT_BIAS(Group.MLP_OUT, false),
    LM_HEAD_WEIGHT(Group.LM_HEAD, true);

    /** The per-type GNS groups reported in metrics ("embedding", "attn_qkv", ...). */
    public enum Group {
        EMBEDDING, ATTN_QKV, ATTN_PROJ, MLP_IN, MLP_OUT, NORM, LM_HEAD;

        public String key() { return name().toLowerCase(); }
    }

    public final Group group;
    /** AdamW weight decay applies to matrices (and embeddings) only, never to biases or norm gains. */
    public final boolean decayed;

    ParamKind(Group group, boolean decayed) {
        this.group = group;
        this.decayed = decayed;
    }

    public boolean isNorm() { return group == Group.NORM; }
}
