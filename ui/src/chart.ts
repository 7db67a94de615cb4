// The activity chart with uPlot (canvas, ~20 KB gzipped). Its colours come from the page's
// CSS variables, so it follows the light or dark scheme, redrawn when the scheme changes.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from './views/activity.tsx';

const HEIGHT = 320;

function columns(s: Series): uPlot.AlignedData {
  return [
    s.data.map((b) => Date.parse(b.t) / 1000),
    s.data.map((b) => b.received),
    s.data.map((b) => b.delivered),
    s.data.map((b) => b.failed),
  ];
}

function options(width: number): uPlot.Options {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  const axis = {
    stroke: v('--muted'),
    grid: { stroke: v('--grid'), width: 1 },
    ticks: { show: false },
  };
  const line = (label: string, color: string) => ({
    label,
    stroke: color,
    width: 2,
    points: { show: false },
  });
  return {
    width,
    height: HEIGHT,
    series: [
      {},
      line('received', v('--c-received')),
      line('delivered', v('--c-delivered')),
      line('failed', v('--c-failed')),
    ],
    axes: [axis, { ...axis, size: 50 }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    cursor: { drag: { x: false, y: false } },
  };
}

export function drawChart(el: HTMLElement, series: Series) {
  let data = columns(series);
  let plot = new uPlot(options(el.clientWidth), data, el);
  const scheme = window.matchMedia('(prefers-color-scheme: dark)');
  const redraw = () => {
    plot.destroy();
    plot = new uPlot(options(el.clientWidth), data, el);
  };
  scheme.addEventListener('change', redraw);
  const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: HEIGHT }));
  resize.observe(el);
  return {
    update(s: Series) {
      data = columns(s);
      plot.setData(data);
    },
    destroy() {
      scheme.removeEventListener('change', redraw);
      resize.disconnect();
      plot.destroy();
    },
  };
}
