// A small JSON reader for baked manifests (the core has no UnityEngine, so no JsonUtility).
// Objects become Dictionary<string, object>, arrays List<object>, numbers double,
// strings string, true/false bool, null null.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Ostinato.Client.Baked
{
    public sealed class BakedManifestException : Exception
    {
        public BakedManifestException(string message) : base(message) { }
    }

    public static class BakedJson
    {
        public static object Parse(string text)
        {
            if (text == null) throw new BakedManifestException("manifest text is null");
            int position = 0;
            object value = ReadValue(text, ref position);
            SkipSpace(text, ref position);
            if (position != text.Length) throw Error(text, position, "trailing characters");
            return value;
        }

        private static BakedManifestException Error(string text, int position, string what)
        {
            return new BakedManifestException("JSON: " + what + " at character " + position);
        }

        private static void SkipSpace(string text, ref int position)
        {
            while (position < text.Length && char.IsWhiteSpace(text[position])) position++;
        }

        private static object ReadValue(string text, ref int position)
        {
            SkipSpace(text, ref position);
            if (position >= text.Length) throw Error(text, position, "unexpected end");
            char c = text[position];
            if (c == '{') return ReadObject(text, ref position);
            if (c == '[') return ReadArray(text, ref position);
            if (c == '"') return ReadString(text, ref position);
            if (Matches(text, position, "true")) { position += 4; return true; }
            if (Matches(text, position, "false")) { position += 5; return false; }
            if (Matches(text, position, "null")) { position += 4; return null; }
            return ReadNumber(text, ref position);
        }

        private static bool Matches(string text, int position, string word)
        {
            return string.CompareOrdinal(text, position, word, 0, word.Length) == 0;
        }

        private static Dictionary<string, object> ReadObject(string text, ref int position)
        {
            var result = new Dictionary<string, object>();
            position++;
            SkipSpace(text, ref position);
            if (position < text.Length && text[position] == '}') { position++; return result; }
            while (true)
            {
                SkipSpace(text, ref position);
                if (position >= text.Length || text[position] != '"') throw Error(text, position, "expected a key");
                string key = ReadString(text, ref position);
                SkipSpace(text, ref position);
                if (position >= text.Length || text[position] != ':') throw Error(text, position, "expected ':'");
                position++;
                result[key] = ReadValue(text, ref position);
                SkipSpace(text, ref position);
                if (position >= text.Length) throw Error(text, position, "unterminated object");
                if (text[position] == ',') { position++; continue; }
                if (text[position] == '}') { position++; return result; }
                throw Error(text, position, "expected ',' or '}'");
            }
        }

        private static List<object> ReadArray(string text, ref int position)
        {
            var result = new List<object>();
            position++;
            SkipSpace(text, ref position);
            if (position < text.Length && text[position] == ']') { position++; return result; }
            while (true)
            {
                result.Add(ReadValue(text, ref position));
                SkipSpace(text, ref position);
                if (position >= text.Length) throw Error(text, position, "unterminated array");
                if (text[position] == ',') { position++; continue; }
                if (text[position] == ']') { position++; return result; }
                throw Error(text, position, "expected ',' or ']'");
            }
        }

        private static string ReadString(string text, ref int position)
        {
            var builder = new StringBuilder();
            position++;
            while (position < text.Length)
            {
                char c = text[position++];
                if (c == '"') return builder.ToString();
                if (c != '\\') { builder.Append(c); continue; }
                if (position >= text.Length) break;
                char escape = text[position++];
                switch (escape)
                {
                    case '"': builder.Append('"'); break;
                    case '\\': builder.Append('\\'); break;
                    case '/': builder.Append('/'); break;
                    case 'b': builder.Append('\b'); break;
                    case 'f': builder.Append('\f'); break;
                    case 'n': builder.Append('\n'); break;
                    case 'r': builder.Append('\r'); break;
                    case 't': builder.Append('\t'); break;
                    case 'u':
                        if (position + 4 > text.Length) throw Error(text, position, "bad \\u escape");
                        builder.Append((char)int.Parse(text.Substring(position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        position += 4;
                        break;
                    default: throw Error(text, position, "bad escape");
                }
            }
            throw Error(text, position, "unterminated string");
        }

        private static double ReadNumber(string text, ref int position)
        {
            int start = position;
            while (position < text.Length && "+-0123456789.eE".IndexOf(text[position]) >= 0) position++;
            double value;
            if (start == position || !double.TryParse(text.Substring(start, position - start), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                throw Error(text, start, "bad value");
            return value;
        }
    }
}
