import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface ChartProps {
  title: string;
  /** `points`: mark each value (for sparse series, where a lone value draws no line). */
  series: Array<{ label: string; stroke: string; points?: boolean }>;
  unit: string;
  /** Called once a second; returns the columns to draw (x first). */
  data: () => AlignedData;
  /** Bumped when the data changed outside the ticks (the first load): redraws at once. */
  revision?: number;
}

/** A uPlot line chart redrawn each second and resized with its container. */
export function Chart({ title, series, unit, data, revision }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot>(null);
  useEffect(() => {
    const el = box.current!;
    const opts: Options = {
      width: Math.max(200, el.clientWidth),
      height: 160,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,.15)' } },
        { stroke: 'currentColor', size: 50, values: (_u, v) => v.map((n) => `${n}${unit}`), grid: { stroke: 'rgba(128,128,128,.15)' } },
      ],
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false, points: s.points ? { show: true, size: 5, fill: s.stroke } : { show: false } })),
      ],
    };
    const plot = new uPlot(opts, data(), el);
    plotRef.current = plot;
    const timer = setInterval(() => plot.setData(data()), 1000);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    resize.observe(el);
    return () => {
      clearInterval(timer);
      resize.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
    // The chart is built once; `data` reads live state each tick.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => plotRef.current?.setData(data()), [revision]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
