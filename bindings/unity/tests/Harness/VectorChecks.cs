// Harness command: decode and re-encode the shared protocol test vectors (tests/vectors).
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using Ostinato.Client;
using Ostinato.Client.Wire;

namespace Ostinato.Harness
{
    internal static class VectorChecks
    {
        public static int Run(string directory)
        {
            var files = new List<string>(Directory.GetFiles(directory));
            files.Sort(StringComparer.Ordinal);
            foreach (string path in files)
            {
                string name = Path.GetFileName(path);
                byte[] bytes = File.ReadAllBytes(path);
                var line = new Dictionary<string, object> { { "file", name } };
                if (name.EndsWith(".msgpack", StringComparison.Ordinal))
                {
                    try
                    {
                        object value = MsgPack.Decode(bytes);
                        line["value"] = Tag(value);
                        line["reencoded_equal"] = Json.ToHex(MsgPack.Encode(value)) == Json.ToHex(bytes);
                    }
                    catch (MsgPackException e)
                    {
                        line["error"] = e.Message;
                    }
                }
                else if (name.EndsWith(".bin", StringComparison.Ordinal))
                {
                    string format = name.Contains("s16") ? "s16" : "f32";
                    var samples = new float[bytes.Length / (format == "f32" ? 4 : 2)];
                    PcmDecoder.Decode(bytes, format, samples);
                    var raw = new byte[samples.Length * 4];
                    Buffer.BlockCopy(samples, 0, raw, 0, raw.Length);
                    line["format"] = format;
                    line["float32le"] = Json.ToHex(raw);
                }
                else continue;
                Console.WriteLine(Json.Write(line));
            }
            return 0;
        }

        /// <summary>Byte strings become {"$bin": base64}, as in tests/vectors/index.json.</summary>
        private static object Tag(object value)
        {
            var bytes = value as byte[];
            if (bytes != null) return new Dictionary<string, object> { { "$bin", Convert.ToBase64String(bytes) } };
            var map = value as Dictionary<string, object>;
            if (map != null)
            {
                var tagged = new Dictionary<string, object>();
                foreach (KeyValuePair<string, object> entry in map) tagged[entry.Key] = Tag(entry.Value);
                return tagged;
            }
            var list = value as IList;
            if (list != null)
            {
                var tagged = new List<object>();
                foreach (object item in list) tagged.Add(Tag(item));
                return tagged;
            }
            return value;
        }
    }
}
