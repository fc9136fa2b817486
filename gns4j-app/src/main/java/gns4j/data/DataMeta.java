package gns4j.data;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

/** What training needs from a prepared dataset's meta.json (the file also lists per-source statistics). */
public record DataMeta(String tokenizer, int vocabSize, long trainTokens, long valTokens) {
    /** meta.json uses nanoGPT-style snake_case keys. */
    static final Gson JSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .setPrettyPrinting()
            .create();
}
