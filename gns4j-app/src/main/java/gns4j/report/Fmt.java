package gns4j.report;

import java.math.BigDecimal;
import java.math.MathContext;

/** Short number and text formatting for axes, tooltips and tables. */
final class Fmt {
    private static final String[] SUFFIX = {"k", "M", "B", "T"};

    private Fmt() {}

    /** 4 significant digits; thousands as k/M/B/T (token counts), tiny values as 3e-4 (learning rates). */
    static String num(double v) {
        if (Double.isNaN(v)) return "–";
        if (Double.isInfinite(v)) return v > 0 ? "∞" : "-∞";
        if (v == 0) return "0";
        double a = Math.abs(v);
        if (a >= 1e4) {
            double r = round(v, 3);
            int group = Math.min(SUFFIX.length, (int) Math.floor(Math.log10(Math.abs(r)) / 3));
            return plain(r / Math.pow(1000, group), 3) + SUFFIX[group - 1];
        }
        if (a < 1e-3) {
            int e = (int) Math.floor(Math.log10(a));
            return plain(v / Math.pow(10, e), 3) + "e" + e;
        }
        return plain(v, 4);
    }

    /** Seconds as 42 s, 12.5 min or 3.2 h. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "–";
        if (seconds < 120) return plain(seconds, 3) + " s";
        if (seconds < 7200) return plain(seconds / 60, 3) + " min";
        return plain(seconds / 3600, 3) + " h";
    }

    private static double round(double v, int digits) {
        return new BigDecimal(v).round(new MathContext(digits)).doubleValue();
    }

    private static String plain(double v, int digits) {
        return new BigDecimal(v).round(new MathContext(digits)).stripTrailingZeros().toPlainString();
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** An SVG coordinate: one decimal is below a pixel and keeps paths short. */
    static String px(double v) {
        long tenths = Math.round(v * 10);
        return tenths % 10 == 0 ? Long.toString(tenths / 10) : Double.toString(tenths / 10.0);
    }
}
