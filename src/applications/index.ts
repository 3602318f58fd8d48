// applications.*: ready-made architectures (Keras' names and layer names).
import { preprocessInput, resNet18, resNet50 } from './resnet.js';
import { smallCnn } from './small-cnn.js';

export const applications = {
  resNet50,
  resNet18,
  smallCnn,
  resnet50: { preprocessInput },
};
