import { useEffect, useState } from 'preact/hooks';

/** "back in 1m 05s" for a key disabled until a time. */
export function Countdown({ until }: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.round((Date.parse(until) - now) / 1000));
  const text = left >= 3600 ? `${Math.floor(left / 3600)}h ${Math.floor((left % 3600) / 60)}m` : `${Math.floor(left / 60)}m ${String(left % 60).padStart(2, '0')}s`;
  return (
    <small class="countdown" title={new Date(until).toLocaleString()}>
      {' '}
      back in {text}
    </small>
  );
}
