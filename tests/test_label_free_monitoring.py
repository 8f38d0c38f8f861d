"""The figures logged at every pseudo-labelling that need no identities (issue 27, part 2),
each against hand-computed values."""
import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from fastreid_rae.pseudo_labels import label_free_quality
from fastreid_rae.pseudo_labels.quality import label_change, multi_camera_share

# 10 images: cluster 0 = {0, 1, 2} (cameras 0, 1, 0), cluster 1 = {3, 4} (camera 0 only),
# cluster 2 = {5} (a singleton), cluster 3 = {8, 9} (cameras 1, 2), images 6 and 7 outliers
LABELS = np.array([0, 0, 0, 1, 1, 2, -1, -1, 3, 3])
CAMIDS = np.array([0, 1, 0, 0, 0, 1, 0, 0, 1, 2])


def test_counts_sizes_and_cameras_of_hand_made_labels():
    figures = label_free_quality(LABELS, CAMIDS)
    assert figures == {
        "clusters": 4,
        "outlier_share": 0.2,  # 2 of 10
        "size_min": 1, "size_median": 2.0, "size_max": 3,  # sizes 3, 2, 1, 2
        "singleton_share": 0.25,  # 1 of 4 clusters
        "largest_share": 0.3,  # 3 of 10 images
        "multi_camera_share": 0.5,  # clusters 0 and 3 of 4
    }  # no previous labels: no change figure


def test_change_is_the_ari_on_the_images_both_labellings_cluster():
    # images 5 (outlier now) and 6 (outlier before) are left out; on the other 8 the new
    # labels keep the previous clusters {7} and {8, 9} and merge {0, 1} with {2, 3, 4}
    previous = np.array([0, 0, 1, 1, 1, 9, -1, 2, 3, 3])
    labels = np.array([0, 0, 0, 0, 0, -1, 4, 3, 1, 1])
    both = [0, 1, 2, 3, 4, 7, 8, 9]
    expected = adjusted_rand_score(previous[both], labels[both])
    assert label_change(labels, previous) == pytest.approx(expected)
    assert 0 < expected < 1
    # the same partition under other numbers is no change at all
    assert label_change(LABELS, np.where(LABELS >= 0, 7 - LABELS, -1)) == 1.0
    assert label_free_quality(labels, np.zeros(10), previous)["ari_to_previous"] == pytest.approx(expected)


def test_change_needs_two_images_labelled_both_times():
    assert label_change(np.array([0, -1, -1]), np.array([0, 1, -1])) is None
    assert "ari_to_previous" not in label_free_quality(np.array([0, -1]), np.zeros(2),
                                                       np.array([-1, 0]))
    with pytest.raises(ValueError, match="3 labels against 2 previous"):
        label_change(np.zeros(3), np.zeros(2))


def test_all_outliers_and_one_camera_are_well_defined():
    figures = label_free_quality(np.full(4, -1), np.zeros(4))
    assert figures["clusters"] == 0 and figures["outlier_share"] == 1.0
    assert figures["size_min"] == figures["size_max"] == 0 and figures["size_median"] == 0.0
    assert figures["singleton_share"] == figures["largest_share"] == 0.0
    assert multi_camera_share(LABELS, np.zeros(10)) == 0.0
    assert all(math.isfinite(value) for value in figures.values())


def test_one_giant_cluster_is_what_largest_share_shows():
    figures = label_free_quality(np.array([0] * 9 + [1]), np.arange(10))
    assert figures["largest_share"] == 0.9 and figures["size_median"] == 5.0
    assert figures["multi_camera_share"] == 0.5  # cluster 1 is one image, one camera
