package gns4j.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import gns4j.IoErrors;
import gns4j.JsonFiles;
import gns4j.UserError;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@link TrainConfig}'s keys as text: a flat JSON object or {@code key=value} overrides read into the key -> value
 * map, each value parsed for its component's type, and the one-line message for whatever does not fit (an unknown
 * key with the nearest known one, a value that does not parse).
 */
final class ConfigText {
    private ConfigText() {}

    /** The largest config file read: a flat object of a few dozen keys is a few KiB. */
    static final int MAX_FILE_BYTES = 1 << 20;

    /** A config file's text, refused with one line when it is missing, not UTF-8 or larger than {@link #MAX_FILE_BYTES}. */
    static String read(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1); // a device such as /dev/zero never ends
        } catch (IOException e) {
            throw new UserError("cannot read config file " + file + ": " + IoErrors.reason(e), e);
        }
        if (bytes.length > MAX_FILE_BYTES)
            throw new UserError("config file " + file + " is larger than " + (MAX_FILE_BYTES >> 20) + " MiB; a config is one"
                    + " small flat JSON object");
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new UserError("config file " + file + " is not UTF-8 text", e);
        }
    }

    static void putJson(Map<String, String> values, String text, String source) {
        JsonElement root = JsonFiles.parse(text, source);
        if (!root.isJsonObject()) throw new UserError(source + " must hold one flat JSON object of key: value");
        refuseDuplicateKeys(text, source);
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject().entrySet()) {
            if (!(e.getValue() instanceof JsonPrimitive p))
                throw new UserError("config key " + e.getKey() + " in " + source + ": expected a number, string or boolean, got "
                        + e.getValue());
            put(values, e.getKey(), p.getAsString());
        }
    }

    /**
     * Refuses a key given twice in the object of {@code text} (already parsed, so valid JSON): the parser keeps the
     * last silently, which hides a typo'd edit of a long config.
     */
    private static void refuseDuplicateKeys(String text, String source) {
        Set<String> seen = new HashSet<>();
        try (JsonReader reader = new JsonReader(new StringReader(text))) {
            reader.setStrictness(Strictness.LENIENT); // as JsonFiles.parse reads it
            reader.beginObject();
            while (reader.hasNext()) {
                String key = reader.nextName();
                if (!seen.add(key))
                    throw new UserError("config key " + key + " is given twice in " + source + "; keep one of them");
                reader.skipValue();
            }
        } catch (IOException e) {
            throw new IllegalStateException("reading a string", e);
        }
    }

    static void putOverrides(Map<String, String> values, List<String> overrides) {
        for (String kv : overrides) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new UserError("--set expects key=value, got '" + kv + "'");
            put(values, kv.substring(0, eq).trim(), kv.substring(eq + 1));
        }
    }

    static void put(Map<String, String> values, String key, String value) {
        if (!TrainConfig.DEFAULTS.containsKey(key))
            throw new UserError("unknown config key '" + key + "' (did you mean '" + nearestKey(key) + "'?)");
        values.put(key, value);
    }

    static Object parse(String key, Class<?> type, String text) {
        String s = text.trim();
        if (TrainConfig.AUTO_KEYS.contains(key) && s.equalsIgnoreCase("auto")) return 0;
        if (type == String.class) return s;
        try {
            // BigDecimal so that token counts can be written as 1e9 while 2.5 is still rejected for an integer key.
            if (type == int.class) return new BigDecimal(s).intValueExact();
            if (type == long.class) return new BigDecimal(s).longValueExact();
            if (type == double.class) {
                double d = Double.parseDouble(s);
                if (Double.isFinite(d)) return d;
            } else if (type == boolean.class) {
                if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) return Boolean.parseBoolean(s);
            } else if (type.isEnum()) {
                for (Object c : type.getEnumConstants()) if (((Enum<?>) c).name().equalsIgnoreCase(s)) return c;
                throw new UserError("config key " + key + ": '" + text + "' is not one of "
                        + Arrays.stream(type.getEnumConstants()).map(TrainConfig::format).collect(Collectors.joining("|")));
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // reported below
        }
        String expected = TrainConfig.AUTO_KEYS.contains(key) ? "auto or an integer" : type == int.class || type == long.class ? "an integer" : type == double.class ? "a finite number" : "true or false";
        throw new UserError("config key " + key + ": cannot parse '" + text + "' as " + expected);
    }

    static String nearestKey(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : TrainConfig.KEYS) {
            int d = editDistance(key.toLowerCase(), k);
            if (d < bestDistance) { best = k; bestDistance = d; }
        }
        return best;
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++)
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

}
