import { renderPopup } from '../../lib/popup';

void renderPopup(document);
