// Minimal JSON writer for the harness's one-line-per-event output.
using System;
using System.Collections;
using System.Globalization;
using System.Text;

namespace Ostinato.Harness
{
    internal static class Json
    {
        public static string Write(object value)
        {
            var sb = new StringBuilder();
            Append(sb, value);
            return sb.ToString();
        }

        private static void Append(StringBuilder sb, object value)
        {
            if (value == null) { sb.Append("null"); return; }
            if (value is bool) { sb.Append((bool)value ? "true" : "false"); return; }
            if (value is string) { AppendString(sb, (string)value); return; }
            var bytes = value as byte[];
            if (bytes != null) { AppendString(sb, ToHex(bytes)); return; }
            if (value is double) { AppendDouble(sb, (double)value); return; }
            if (value is float) { AppendDouble(sb, (float)value); return; }
            var map = value as IDictionary;
            if (map != null)
            {
                sb.Append('{');
                bool first = true;
                foreach (DictionaryEntry e in map)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    AppendString(sb, e.Key.ToString());
                    sb.Append(':');
                    Append(sb, e.Value);
                }
                sb.Append('}');
                return;
            }
            var list = value as IList;
            if (list != null)
            {
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Append(sb, list[i]);
                }
                sb.Append(']');
                return;
            }
            var formattable = value as IFormattable;
            if (formattable != null) { sb.Append(formattable.ToString(null, CultureInfo.InvariantCulture)); return; }
            AppendString(sb, value.ToString());
        }

        // Always with a fraction or exponent, so a reader can tell floats from integers.
        private static void AppendDouble(StringBuilder sb, double d)
        {
            string text = d.ToString("R", CultureInfo.InvariantCulture);
            if (text.IndexOfAny(new[] { '.', 'E', 'e', 'N', 'I' }) < 0) text += ".0";
            sb.Append(text);
        }

        private static void AppendString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                else sb.Append(c);
            }
            sb.Append('"');
        }

        public static string ToHex(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (byte b in bytes) sb.Append(b.ToString("x2"));
            return sb.ToString();
        }

        public static byte[] FromHex(string hex)
        {
            if (hex.Length % 2 != 0) throw new FormatException("odd-length hex string");
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
                bytes[i] = byte.Parse(hex.Substring(2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return bytes;
        }
    }
}
