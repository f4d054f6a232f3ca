/** Non-Bayesian baselines to set beside the Laplace posteriors: temperature scaling. */
export {
  applyTemperature,
  defaultTemperatureRange,
  fitTemperature,
  fitTemperatureDetailed,
  temperatureNll,
  type Logits,
  type TemperatureFit,
  type TemperatureOptions,
} from './temperature.ts';
