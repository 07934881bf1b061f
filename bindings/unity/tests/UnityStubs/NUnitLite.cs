// The few NUnit attributes and asserts the package's Tests/ use, plus a reflection runner,
// so CI runs the Unity Test Framework tests with mono (Unity ships the real NUnit).
using System;
using System.Reflection;

namespace NUnit.Framework
{
    [AttributeUsage(AttributeTargets.Method)] public sealed class TestAttribute : Attribute { }

    public sealed class AssertionException : Exception { public AssertionException(string m) : base(m) { } }

    public static class Assert
    {
        public static void AreEqual(object expected, object actual)
        {
            if (!Equals(expected, actual)) throw new AssertionException("expected " + expected + ", got " + actual);
        }
        public static void AreEqual(double expected, double actual, double delta)
        {
            if (Math.Abs(expected - actual) > delta) throw new AssertionException("expected " + expected + " +- " + delta + ", got " + actual);
        }
        public static void IsTrue(bool condition) { if (!condition) throw new AssertionException("expected true"); }
        public static void Greater(float a, float b) { if (!(a > b)) throw new AssertionException(a + " is not > " + b); }
    }
}

namespace Ostinato.TestRunner
{
    public static class Runner
    {
        public static int Main(string[] args)
        {
            int passed = 0, failed = 0;
            foreach (Type type in Assembly.LoadFrom(args[0]).GetTypes())
            {
                foreach (MethodInfo method in type.GetMethods())
                {
                    if (method.GetCustomAttributes(typeof(NUnit.Framework.TestAttribute), false).Length == 0) continue;
                    try
                    {
                        method.Invoke(Activator.CreateInstance(type), null);
                        passed++;
                        Console.WriteLine("PASS " + type.Name + "." + method.Name);
                    }
                    catch (TargetInvocationException e)
                    {
                        failed++;
                        Console.WriteLine("FAIL " + type.Name + "." + method.Name + ": " + e.InnerException.Message);
                    }
                }
            }
            Console.WriteLine("TESTS passed=" + passed + " failed=" + failed);
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
