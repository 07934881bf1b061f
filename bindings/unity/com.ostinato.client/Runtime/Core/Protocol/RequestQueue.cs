// One ordered send queue for a game's requests: a single worker thread runs them in the
// order they were queued (two calls in one frame reach the service in that order), and
// requests made before the connection is up wait for it instead of failing with
// "not connected". The game thread never blocks: Enqueue only adds to the queue.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Ostinato.Client
{
    public sealed class RequestQueue : IDisposable
    {
        private readonly Queue<Action> _jobs = new Queue<Action>();
        private readonly object _lock = new object();
        private readonly Action<Exception> _onError;
        private readonly Thread _worker;
        private bool _open;
        private bool _closed;
        private bool _running;
        private Exception _failure;

        /// <param name="onError">Called (on the worker thread) with a request's exception.</param>
        public RequestQueue(Action<Exception> onError)
        {
            _onError = onError ?? (e => { });
            _worker = new Thread(Work) { IsBackground = true, Name = "Ostinato requests" };
            _worker.Start();
        }

        /// <summary>Requests queued or running.</summary>
        public int Pending { get { lock (_lock) return _jobs.Count + (_running ? 1 : 0); } }

        /// <summary>True once <see cref="Open"/> was called (the connection is up).</summary>
        public bool IsOpen { get { lock (_lock) return _open; } }

        /// <summary>Queues a request; it runs after every request queued before it.</summary>
        public void Enqueue(Action job)
        {
            if (job == null) throw new ArgumentNullException("job");
            Exception failure;
            lock (_lock)
            {
                failure = _failure;
                if (failure == null && !_closed)
                {
                    _jobs.Enqueue(job);
                    Monitor.PulseAll(_lock);
                    return;
                }
            }
            _onError(new OstinatoProtocolException("not_connected", "not connected to the Ostinato service: " +
                (failure != null ? failure.Message : "the client was shut down"), null));
        }

        /// <summary>The connection is up: send what waited, in order, then everything after.</summary>
        public void Open()
        {
            lock (_lock)
            {
                _open = true;
                Monitor.PulseAll(_lock);
            }
        }

        /// <summary>The connection failed: the waiting requests are dropped with one error, later ones fail at once.</summary>
        public void Fail(Exception reason)
        {
            int dropped;
            lock (_lock)
            {
                _failure = reason;
                dropped = _jobs.Count;
                _jobs.Clear();
                Monitor.PulseAll(_lock);
            }
            if (dropped > 0)
                _onError(new OstinatoProtocolException("not_connected",
                    dropped + " request(s) dropped: could not connect: " + reason.Message, null));
        }

        /// <summary>Blocks until every queued request has run (or the timeout passes); true when drained.</summary>
        public bool WaitIdle(int timeoutMs)
        {
            DateTime end = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            lock (_lock)
            {
                while (_jobs.Count > 0 || _running)
                {
                    int left = (int)(end - DateTime.UtcNow).TotalMilliseconds;
                    if (left <= 0) return false;
                    Monitor.Wait(_lock, left);
                }
                return true;
            }
        }

        private void Work()
        {
            while (true)
            {
                Action job;
                lock (_lock)
                {
                    while (!_closed && (!_open || _jobs.Count == 0)) Monitor.Wait(_lock);
                    if (_closed) return;
                    job = _jobs.Dequeue();
                    _running = true;
                }
                try { job(); }
                catch (Exception e) { _onError(e); }
                lock (_lock)
                {
                    _running = false;
                    Monitor.PulseAll(_lock);
                }
            }
        }

        /// <summary>Stops the worker after the request running now; queued requests are dropped.</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                _closed = true;
                _jobs.Clear();
                Monitor.PulseAll(_lock);
            }
            if (Thread.CurrentThread != _worker) _worker.Join(2000);
        }
    }
}
