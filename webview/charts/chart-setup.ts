/**
 * Chart.js, registered piece by piece (only what the webview draws, so the bundle stays small). Chart.js
 * draws on canvas and sets element styles through the CSSOM only, which the webview's CSP allows.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, ScatterController, CategoryScale, LinearScale, LogarithmicScale, Tooltip, Legend);

export { Chart };
